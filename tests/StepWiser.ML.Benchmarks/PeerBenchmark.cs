using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using StepWiser.ML.Generation;
using StepWiser.ML.Models;
using StepWiser.ML.Tokenization;
using static TorchSharp.torch;

/// <summary>
/// Issue 17's peer: our engine against a plain PyTorch eager KV-cache loop (peers/torch_generate.py, Hugging Face
/// `generate` style) on the same checkpoint, the same prompts, the same thread count, greedy, at batch 1, 16 and 64.
/// Reports generated tokens a second on each side, the ratio, and how many rows produced the same tokens. Where Python
/// or its torch is missing it says "peer not available" and stops (exit 0).
/// Usage: --suite peer [--model medium|small] [--repeats N]
/// </summary>
internal static class PeerBenchmark
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>
    /// Per batch, <paramref name="rounds"/> alternations of our engine and the peer (each best of <paramref name="repeats"/>):
    /// each side's best over the rounds makes the ratio, so a load that comes and goes on a shared machine meets both sides
    /// alike; the per-round ratios are printed beside it.
    /// </summary>
    public static void Run(string size, int repeats, int rounds = 1)
    {
        if (FindScript() is not { } script)
        {
            Console.Error.WriteLine($"error: tests/StepWiser.ML.Benchmarks/peers/torch_generate.py not found above {AppContext.BaseDirectory} or {Environment.CurrentDirectory}: run from the repository");
            Environment.Exit(2);
            return;
        }
        var dir = Directory.CreateTempSubdirectory("peer").FullName;
        try
        {
            var config = size == "small" ? BuiltInModels.Small : BuiltInModels.Medium;
            using var model = CausalLM.CreateRandom(config, seed: 1);
            model.eval();
            HuggingFaceCheckpoint.Save(model, dir);
            var engine = new LocalTextGenerator(model, BuiltInTokenizer.Create());
            var threads = get_num_threads();
            Console.WriteLine(F($"peer: built-in {size} ({model.ParameterCount:N0} parameters), {threads} torch threads, greedy, 32-token prompts, 128 new tokens, best of {repeats}, {rounds} alternated round(s)"));
            Console.WriteLine("| batch | ours tok/s | PyTorch eager tok/s | ours ÷ peer | each round's ratio | rows with identical tokens |\n|---|---|---|---|---|---|");
            foreach (var batch in new[] { 1, 16, 64 })
            {
                const int promptLength = 32, newTokens = 128;
                var prompts = Enumerable.Range(0, batch).Select(i => { var r = new Random(100 + i); return Enumerable.Range(0, promptLength).Select(_ => r.Next(32, 127)).ToArray(); }).ToArray();
                var requests = prompts.Select(p => new GenerationRequest { PromptTokenIds = p, Options = SamplingOptions.Greedy(newTokens) }).ToArray();
                IReadOnlyList<GenerationResult>? ours = null;
                var request = Path.Combine(dir, $"request-{batch}.json");
                var result = Path.Combine(dir, $"result-{batch}.json");
                File.WriteAllText(request, JsonSerializer.Serialize(new { prompts, max_new_tokens = newTokens, threads, repeats }));
                int[][] peerTokens = [];
                string? unavailable = null;
                double Peer()
                {
                    if (unavailable is not null) return double.NaN;
                    var (ok, message) = RunPeer(script, dir, request, result);
                    if (!ok) { unavailable = message; return double.NaN; }
                    using var json = JsonDocument.Parse(File.ReadAllText(result));
                    peerTokens = json.RootElement.GetProperty("tokens").EnumerateArray().Select(row => row.EnumerateArray().Select(t => t.GetInt32()).ToArray()).ToArray();
                    return json.RootElement.GetProperty("seconds").GetDouble();
                }
                var (ourSeconds, peerSeconds, roundTimes) = Timing.Alternate(rounds, () => Timing.Best(repeats, () => ours = engine.Generate(requests)), Peer);
                if (unavailable is not null)
                {
                    Console.WriteLine($"peer not available: {unavailable}");
                    return;
                }
                var ourTokens = ours!.Sum(r => r.Samples[0].TokenIds.Count);   // greedy: the same tokens in every call
                // Our engine stops a row at EOS; the peer runs every row the full length, so compare our tokens with the peer's prefix.
                var same = ours!.Select((r, i) => r.Samples[0].TokenIds.SequenceEqual(peerTokens[i].Take(r.Samples[0].TokenIds.Count))).Count(x => x);
                double Ratio(double our, double peer) => ourTokens / our / (batch * newTokens / peer);
                Console.WriteLine(F($"| {batch} | {ourTokens / ourSeconds:N0} | {batch * newTokens / peerSeconds:N0} | **{Ratio(ourSeconds, peerSeconds):F2}×** | {string.Join(", ", roundTimes.Select(r => Ratio(r.First, r.Second).ToString("F2", Inv)))} | {same}/{batch} |"));
            }
            Console.WriteLine("peer torch " + JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "result-64.json"))).RootElement.GetProperty("torch").GetString());
            TrainingStep(script, dir, config, repeats);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    /// <summary>
    /// Supervised steps on identical batches: our <see cref="StepWiser.ML.Training.SftTrainer"/> against the peer's plain PyTorch loop
    /// (logits at every position, cross-entropy on the response, backward, clipping, torch.optim.AdamW) from the same
    /// saved weights: 20 steps of 16 sequences of 128 tokens (64 prompt, 63 response + EOS), constant learning rate.
    /// </summary>
    private static void TrainingStep(string script, string dir, ModelConfig config, int repeats)
    {
        const int steps = 20, batch = 16, promptLength = 64;
        var random = new Random(5);
        var examples = Enumerable.Range(0, steps * batch).Select(_ => new StepWiser.ML.Training.SftExample(new string('q', promptLength), new string((char)random.Next(97, 123), 63))).ToArray();
        var tokenizer = BuiltInTokenizer.Create();
        var options = new StepWiser.ML.Training.SftOptions { Steps = steps, BatchSize = batch, WarmupSteps = 0, MinLearningRateRatio = 1.0, LearningRate = 1e-3 };
        double ours = double.MaxValue;
        StepWiser.ML.Training.TrainingResult? first = null;
        for (var r = 0; r <= repeats; r++)   // the first run warms up
        {
            using var model = HuggingFaceCheckpoint.Load(dir);
            var trainer = new StepWiser.ML.Training.SftTrainer(model, tokenizer, options);
            var clock = Stopwatch.StartNew();
            var trained = trainer.Train(examples);
            if (r == 0) { first = trained; continue; }
            ours = Math.Min(ours, clock.Elapsed.TotalSeconds);
        }
        // The same sequences (every one 128 tokens), in batches of 16 in file order: the timing does not depend on the
        // order (our trainer draws its own), and the losses are comparable rather than identical.
        var eos = config.EosTokenIds[0];
        var batches = examples.Chunk(batch).Select(b => b.Select(e => tokenizer.EncodeToIds(e.Prompt).Concat(tokenizer.EncodeToIds(e.Response)).Append(eos).ToArray()).ToArray()).ToArray();
        var request = Path.Combine(dir, "request-train.json");
        var result = Path.Combine(dir, "result-train.json");
        File.WriteAllText(request, JsonSerializer.Serialize(new { train = new { batches, response_start = promptLength, lr = options.LearningRate, weight_decay = options.WeightDecay }, threads = get_num_threads(), repeats }));
        var (ok, message) = RunPeer(script, dir, request, result);
        if (!ok) { Console.WriteLine($"SFT peer not available: {message}"); return; }
        using var json = JsonDocument.Parse(File.ReadAllText(result));
        var peer = json.RootElement.GetProperty("seconds").GetDouble();
        var peerLosses = json.RootElement.GetProperty("losses").EnumerateArray().Select(x => x.GetDouble()).ToArray();
        var tokens = (double)steps * batch * 128;
        Console.WriteLine(F($"SFT step (16 x 128 tokens, loss on 64): ours {tokens / ours:N0} tok/s, PyTorch loop {tokens / peer:N0} tok/s = **{peer / ours:F2}×**; first/last loss ours {first!.Losses[0]:F3}/{first.Losses[^1]:F3}, peer {peerLosses[0]:F3}/{peerLosses[^1]:F3}"));
    }

    /// <summary>Runs the peer with STEPWISER_PEER_PYTHON, else Debian's /usr/bin/python3 (where apt's python3-torch lives), else python3 on PATH.</summary>
    internal static (bool Ok, string Message) RunPeer(string script, string checkpoint, string request, string result)
    {
        var candidates = new[] { Environment.GetEnvironmentVariable("STEPWISER_PEER_PYTHON"), "/usr/bin/python3", "python3" }.OfType<string>().Distinct();
        var message = "no python3";
        foreach (var python in candidates)
        {
            var start = new ProcessStartInfo(python) { ArgumentList = { script, checkpoint, request, result }, RedirectStandardError = true, RedirectStandardOutput = true };
            try
            {
                using var process = Process.Start(start)!;
                var stderr = process.StandardError.ReadToEndAsync();
                process.StandardOutput.ReadToEnd();
                process.WaitForExit();
                if (process.ExitCode == 0) return (true, python);
                message = $"{python}: " + (stderr.Result.Trim().Split('\n').LastOrDefault() is { Length: > 0 } last ? last : $"exit code {process.ExitCode}");
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                message = $"{python} not found ({e.Message})";
            }
        }
        return (false, message);
    }

    /// <summary>The peer script, above the build output (dotnet run) or above the current folder (a copied build run from the repository); null when neither has it.</summary>
    internal static string? FindScript()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "tests", "StepWiser.ML.Benchmarks", "peers", "torch_generate.py");
                if (File.Exists(candidate)) return candidate;
            }
        return null;
    }

    private static string F(FormattableString s) => s.ToString(Inv);
}
