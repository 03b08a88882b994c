using System.Diagnostics;
using StepWiser.ML.Generation;
using StepWiser.ML.Models;
using StepWiser.ML.Tokenization;
using static TorchSharp.torch;

/// <summary>
/// What fusing q/k/v and gate/up into single matmuls saves in a decode step (issue 17): on the built-in Medium shapes,
/// the time of the separate projections of one layer against one matmul with the concatenated weight (then split), for
/// decode-sized inputs of M rows, and that saving over the 6 layers set against a measured decode step of the same batch
/// (the engine's generation time per new token: forward, sampling and bookkeeping); then the engine itself on the same
/// weights with its fused projections (the default since 2026-12-02) and with separate ones (a copy moved by TorchSharp's
/// own <c>to</c>, which turns fusion off), alternated, with the generated tokens compared; and one layer's decode
/// attention on the two paths (SDPA, and the written-out products the decode step now uses).
/// Usage: --suite fusion [--repeats N]
/// </summary>
internal static class FusionBenchmark
{
    public static void Run(int repeats)
    {
        var c = BuiltInModels.Medium;
        int hidden = c.HiddenSize, q = c.NumAttentionHeads * c.HeadDim, kv = c.KeyValueHeads * c.HeadDim, inter = c.IntermediateSize;
        using var wq = randn(q, hidden); using var wk = randn(kv, hidden); using var wv = randn(kv, hidden);
        using var wg = randn(inter, hidden); using var wu = randn(inter, hidden);
        using var wqkv = cat([wq, wk, wv], 0); using var wgu = cat([wg, wu], 0);
        Console.WriteLine($"Medium shapes: hidden {hidden}, q {q}, k/v {kv}, intermediate {inter}, {c.NumHiddenLayers} layers; threads {get_num_threads()}; best of {repeats}");
        Console.WriteLine("| rows M | decode step of the engine (µs) | model forward with cache (µs, share) | sampling + bookkeeping (µs, share) | q/k/v separate → fused (µs) | gate/up separate → fused (µs) | fusion saves, products alone (µs over all layers, share of the step) | engine step, separate projections → fused (µs; ratio; tokens) | one layer's attention at 80 keys: SDPA with a boolean mask → written out with an additive mask, as decode now runs it (µs) |\n|---|---|---|---|---|---|---|---|---|");
        using var model = CausalLM.CreateRandom(c, seed: 1);
        model.eval();
        // The same weights with separate projections: TorchSharp's own move replaces the parameters, which turns fusion off.
        using var separate = CausalLM.CreateRandom(c, seed: 1);
        separate.eval();
        TorchSharp.ModuleExtensionMethods.to(separate, ScalarType.Float64);
        TorchSharp.ModuleExtensionMethods.to(separate, ScalarType.Float32);
        if (!model.UsesFusedProjections || separate.UsesFusedProjections) throw new InvalidOperationException("the fused/separate pair is not what it should be");
        foreach (var m in new[] { 1, 16, 64 })
        {
            using var x = randn(m, 1, hidden);
            using var guard = no_grad();
            var sepQkv = Micro(repeats, () => { using var a = nn.functional.linear(x, wq); using var b = nn.functional.linear(x, wk); using var d = nn.functional.linear(x, wv); });
            var fusedQkv = Micro(repeats, () => { using var y = nn.functional.linear(x, wqkv); var parts = y.split([q, kv, kv], -1); foreach (var p in parts) p.Dispose(); });
            var sepGu = Micro(repeats, () => { using var a = nn.functional.linear(x, wg); using var b = nn.functional.linear(x, wu); using var g = nn.functional.silu(a).mul_(b); });
            var fusedGu = Micro(repeats, () => { using var y = nn.functional.linear(x, wgu); var parts = y.split([inter, inter], -1); using var g = nn.functional.silu(parts[0]).mul_(parts[1]); foreach (var p in parts) p.Dispose(); });
            var saved = c.NumHiddenLayers * (sepQkv - fusedQkv + sepGu - fusedGu);
            var (sdpa, written) = AttentionPaths(c, m, keys: 32 + 48, repeats);
            // The engine with fused and with separate projections, alternated; both profiles come from the fused model.
            double step = double.MaxValue, separateStep = double.MaxValue;
            var profile = GenerationProfile.Empty;
            var tokensEqual = true;
            for (var r = 0; r < repeats; r++)
            {
                var (s1, p1, t1) = DecodeStep(model, m);
                var (s2, _, t2) = DecodeStep(separate, m);
                if (s1 < step) (step, profile) = (s1, p1);
                separateStep = Math.Min(separateStep, s2);
                tokensEqual &= t1.Zip(t2).All(z => z.First.SequenceEqual(z.Second));
            }
            var forward = ModelStep(model, m, repeats);
            Console.Error.WriteLine($"  engine profile at {m} rows, per step: forward {profile.Forward.TotalMicroseconds / profile.Steps:F0} µs, sampling {profile.Sampling.TotalMicroseconds / profile.Steps:F0} µs, bookkeeping {profile.Bookkeeping.TotalMicroseconds / profile.Steps:F0} µs; prefill {profile.Prefill.TotalMilliseconds:F1} ms a call");
            Console.WriteLine($"| {m} | {step:F0} | {forward:F0} ({100 * forward / step:F0} %) | {step - forward:F0} ({100 * (step - forward) / step:F0} %) | {sepQkv:F0} → {fusedQkv:F0} | {sepGu:F0} → {fusedGu:F0} | {saved:F0} ({100 * saved / step:F1} %) | {separateStep:F0} → {step:F0} ({separateStep / step:F2}×; {(tokensEqual ? "identical" : "DIFFERENT")}) | {sdpa:F0} → {written:F0} |");
        }
    }

    /// <summary>
    /// One layer's decode attention on <paramref name="rows"/> rows over <paramref name="keys"/> cached positions (the query
    /// heads of a kv head folded into the query axis, as <c>Attention</c> does), in µs: scaled_dot_product_attention with
    /// a boolean mask (the path before 2026-12-01) and the written-out products with an additive mask (the decode path now).
    /// </summary>
    private static (double Sdpa, double Written) AttentionPaths(ModelConfig c, int rows, int keys, int repeats)
    {
        int kvHeads = c.KeyValueHeads, groups = c.NumAttentionHeads / c.KeyValueHeads, d = c.HeadDim;
        using var guard = no_grad();
        using var q = randn(rows, kvHeads, groups, d);
        // Keys and values are views of the first positions of a larger cache, as the engine's KvCache hands them out.
        using var keyCache = randn(rows, kvHeads, 32 + 96, d);
        using var valueCache = randn(rows, kvHeads, 32 + 96, d);
        using var k = keyCache.narrow(2, 0, keys);
        using var v = valueCache.narrow(2, 0, keys);
        using var allowed = ones(new long[] { rows, 1, groups, keys }, dtype: ScalarType.Bool);
        allowed.narrow(3, 0, keys / 4).fill_(false);                                                 // some left padding
        using var additive = zeros(rows, 1, groups, keys).masked_fill_(allowed.logical_not(), double.NegativeInfinity);
        var scale = 1.0 / Math.Sqrt(d);
        var sdpa = Micro(repeats, () => { using var y = nn.functional.scaled_dot_product_attention(q, k, v, allowed); });
        var written = Micro(repeats, () =>
        {
            using var scores = q.matmul(k.transpose(2, 3)).mul_(scale).add_(additive);
            using var probabilities = scores.softmax(-1);
            using var y = probabilities.matmul(v);
        });
        return (sdpa, written);
    }

    /// <summary>Best-of-<paramref name="repeats"/> mean time of one call in µs, 200 calls per repeat after a warm-up.</summary>
    private static double Micro(int repeats, Action call)
    {
        for (var i = 0; i < 20; i++) call();
        var best = double.MaxValue;
        for (var r = 0; r < repeats; r++)
        {
            var sw = Stopwatch.StartNew();
            for (var i = 0; i < 200; i++) call();
            best = Math.Min(best, sw.Elapsed.TotalMicroseconds / 200);
        }
        return best;
    }

    /// <summary>Generation time per new token of one engine call for <paramref name="rows"/> rows (32-token prompts, 96 new tokens, seeded sampling), in µs: a decode step with its sampling and bookkeeping; its profile and the tokens.</summary>
    private static (double Step, GenerationProfile Profile, IReadOnlyList<int>[] Tokens) DecodeStep(CausalLM model, int rows)
    {
        var engine = new LocalTextGenerator(model, BuiltInTokenizer.Create());
        var random = new Random(3);
        var requests = Enumerable.Range(0, rows).Select(_ => new GenerationRequest
        {
            PromptTokenIds = Enumerable.Range(0, 32).Select(_ => random.Next(32, 127)).ToArray(),
            Options = new SamplingOptions { MaxNewTokens = 96, Temperature = 1, Seed = 3, Stop = [] },
        }).ToArray();
        engine.Generate(requests);   // warm-up
        engine.ResetProfile();
        var sw = Stopwatch.StartNew();
        var results = engine.Generate(requests);
        var steps = results.Max(x => x.Samples[0].TokenIds.Count);
        return (sw.Elapsed.TotalMicroseconds / steps, engine.Profile, results.Select(x => x.Samples[0].TokenIds).ToArray());
    }

    /// <summary>The model part of a decode step alone, in µs: the engine's calls (cache mask, <c>Hidden</c>, <c>Logits</c>) for one new token per row with a KV cache, at the same lengths as <see cref="DecodeStep"/> (32-token prompts, 96 steps).</summary>
    private static double ModelStep(CausalLM model, int rows, int repeats)
    {
        using var guard = no_grad();
        var best = double.MaxValue;
        for (var r = 0; r < repeats; r++)
        {
            using var cache = new KvCache(model.Config, rows, 32 + 96, model.Device, model.DType);
            using var prompt = randint(32, 127, [rows, 32], dtype: ScalarType.Int64);
            using (var scope = NewDisposeScope())
            {
                cache.MarkValid(ones(rows, 32, dtype: ScalarType.Bool));
                var causal = ones(32, 32, dtype: ScalarType.Bool).tril().view(1, 1, 32, 32).expand(rows, 1, 32, 32);
                model.Hidden(prompt, arange(32, dtype: ScalarType.Int64).unsqueeze(0).expand(rows, -1), causal, cache);
                cache.Advance(32);
            }
            using var next = randint(32, 127, [rows, 1], dtype: ScalarType.Int64);
            var sw = Stopwatch.StartNew();
            for (var i = 0; i < 96; i++)
            {
                using var scope = NewDisposeScope();
                cache.MarkValid(ones(rows, 1, dtype: ScalarType.Bool));
                var mask = cache.Valid.narrow(1, 0, cache.Length + 1).view(rows, 1, 1, cache.Length + 1);
                var hidden = model.Hidden(next, full([rows, 1], 32L + i, dtype: ScalarType.Int64), mask, cache);
                cache.Advance(1);
                model.Logits(hidden.squeeze(1));
            }
            best = Math.Min(best, sw.Elapsed.TotalMicroseconds / 96);
        }
        return best;
    }
}
