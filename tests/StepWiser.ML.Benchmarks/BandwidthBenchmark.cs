using System.Text.Json;
using StepWiser.ML.Models;
using static TorchSharp.torch;

/// <summary>
/// Whether a decode step is bound by reading the weights (issue 17): the matrix products of one decode step of the built-in
/// Medium model (every layer's seven projections, in order, as a decode step runs them) on M-row inputs, timed two ways in
/// one run: cycling through the matrices (each read once a pass, as in decode: the 17 MB of layer weights do not stay in
/// the 1 MiB per-core L2 cache) and with each matrix's products repeated back to back (its weights stay cached). The
/// ratio is what reading the weights costs; bytes per second is what the cycling pass achieves. The same two timings
/// of the PyTorch peer (peers/torch_generate.py, the same saved weights) follow where it is available.
/// With --dtype bfloat16 (or float16) our side runs on a copy of the weights in that type (half the bytes; what a
/// smaller decode copy of the weights would give) and the peer is not run. In float32, where the CPU has AVX-512, the
/// library's managed decode kernel (DecodeProducts, which the engine uses for decode steps of at most 16 rows) is timed
/// the same two ways at the rows it takes.
/// Usage: --suite bandwidth [--repeats N] [--dtype float32|bfloat16|float16]
/// </summary>
internal static class BandwidthBenchmark
{
    private static readonly int[] Rows = [1, 16, 64];

    public static void Run(int repeats, string dtypeName = "float32")
    {
        var dtype = DTypeOption.Parse(dtypeName);
        using var model = CausalLM.CreateRandom(BuiltInModels.Medium, seed: 1);
        using var guard = no_grad();
        var weights = model.named_parameters().Where(p => p.name.Contains(".layers.", StringComparison.Ordinal) && p.parameter.dim() == 2)
            .Select(p => p.parameter.detach().to(dtype)).ToArray();
        long bytes = weights.Sum(w => w.NumberOfElements * w.ElementSize);
        var flopsPerRow = 2.0 * weights.Sum(w => w.NumberOfElements);
        Console.WriteLine($"Medium: {weights.Length} layer matrices, {bytes / 1e6:F1} MB of {dtypeName} weights read by every decode step; threads {get_num_threads()}; best of {repeats}");
        var ours = Rows.Select(m => Measure(weights, m, repeats, Torch)).ToArray();
        var useKernel = dtype == ScalarType.Float32 && DecodeProducts.IsSupported;
        var kernel = Rows.Select(m => useKernel && m <= DecodeProducts.MaxRows ? Measure(weights, m, repeats, Kernel) : ((double, double)?)null).ToArray();
        var peer = dtype == ScalarType.Float32 ? Peer(model, repeats) : null;
        Console.WriteLine("| rows M | side | the step's products, weights cycling (µs) | the same products, weights hot (µs) | cycling ÷ hot | weight bytes read a second (cycling) | arithmetic rate (cycling) |\n|---|---|---|---|---|---|---|");
        for (var i = 0; i < Rows.Length; i++)
        {
            var sides = new List<(string, double, double)> { ($"ours (libtorch 2.10, {dtypeName})", ours[i].Cycling, ours[i].Hot) };
            if (kernel[i] is { } k) sides.Add(("ours (managed decode kernel)", k.Item1, k.Item2));
            if (peer is { } p) sides.Add(($"PyTorch peer ({p.Version})", p.Cycling[i], p.Hot[i]));
            foreach (var (side, cycling, hot) in sides)
                Console.WriteLine($"| {Rows[i]} | {side} | {cycling:F0} | {hot:F0} | {cycling / hot:F2} | {bytes / cycling / 1e3:F1} GB/s | {flopsPerRow * Rows[i] / cycling / 1e3:F0} GFLOP/s |");
        }
        if (peer is null) Console.WriteLine(dtype == ScalarType.Float32 ? "peer not available (see --suite peer)" : "peer: float32 only");
        foreach (var w in weights) w.Dispose();
    }

    private static Tensor Torch(Tensor x, Tensor w) => nn.functional.linear(x, w);

    private static Tensor Kernel(Tensor x, Tensor w)
    {
        using var scope = DecodeProducts.Enter();
        return DecodeProducts.TryLinear(x, w, null) ?? throw new InvalidOperationException("the decode kernel declined a product it should take");
    }

    private static (double Cycling, double Hot) Measure(Tensor[] weights, int m, int repeats, Func<Tensor, Tensor, Tensor> product)
    {
        var inputs = weights.Select(w => randn(m, w.shape[1]).to(w.dtype)).ToArray();
        const int passes = 20, repeat = 16;
        var cycling = 1e6 * Timing.Best(repeats, () =>
        {
            for (var p = 0; p < passes; p++)
                for (var i = 0; i < weights.Length; i++) { using var y = product(inputs[i], weights[i]); }
        }) / passes;
        var hot = 0.0;
        for (var i = 0; i < weights.Length; i++)
        {
            var (w, x) = (weights[i], inputs[i]);
            hot += 1e6 * Timing.Best(repeats, () => { for (var r = 0; r < repeat; r++) { using var y = product(x, w); } }) / repeat;
        }
        foreach (var x in inputs) x.Dispose();
        return (cycling, hot);
    }

    private static (double[] Cycling, double[] Hot, string Version)? Peer(CausalLM model, int repeats)
    {
        if (PeerBenchmark.FindScript() is not { } script) return null;
        var dir = Directory.CreateTempSubdirectory("bandwidth").FullName;
        try
        {
            HuggingFaceCheckpoint.Save(model, dir);
            var request = Path.Combine(dir, "request.json");
            var result = Path.Combine(dir, "result.json");
            File.WriteAllText(request, JsonSerializer.Serialize(new { bandwidth = new { rows = Rows }, threads = get_num_threads(), repeats }));
            var (ok, _) = PeerBenchmark.RunPeer(script, dir, request, result);
            if (!ok) return null;
            using var json = JsonDocument.Parse(File.ReadAllText(result));
            double[] Read(string name) => json.RootElement.GetProperty(name).EnumerateArray().Select(x => x.GetDouble()).ToArray();
            return (Read("cycling"), Read("hot"), json.RootElement.GetProperty("torch").GetString() ?? "?");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
