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

    public static void Run(string size, int repeats)
    {
        var script = FindScript();
        var dir = Directory.CreateTempSubdirectory("peer").FullName;
        try
        {
            var config = size == "small" ? BuiltInModels.Small : BuiltInModels.Medium;
            using var model = CausalLM.CreateRandom(config, seed: 1);
            model.eval();
            HuggingFaceCheckpoint.Save(model, dir);
            var engine = new LocalTextGenerator(model, BuiltInTokenizer.Create());
            var threads = get_num_threads();
            Console.WriteLine(F($"peer: built-in {size} ({model.ParameterCount:N0} parameters), {threads} torch threads, greedy, 32-token prompts, 128 new tokens, best of {repeats}"));
            Console.WriteLine("| batch | ours tok/s | PyTorch eager tok/s | ours ÷ peer | rows with identical tokens |\n|---|---|---|---|---|");
            foreach (var batch in new[] { 1, 16, 64 })
            {
                const int promptLength = 32, newTokens = 128;
                var prompts = Enumerable.Range(0, batch).Select(i => { var r = new Random(100 + i); return Enumerable.Range(0, promptLength).Select(_ => r.Next(32, 127)).ToArray(); }).ToArray();
                var requests = prompts.Select(p => new GenerationRequest { PromptTokenIds = p, Options = SamplingOptions.Greedy(newTokens) }).ToArray();
                IReadOnlyList<GenerationResult>? ours = null;
                var ourSeconds = Timing.Best(repeats, () => ours = engine.Generate(requests));
                var ourTokens = ours!.Sum(r => r.Samples[0].TokenIds.Count);

                var request = Path.Combine(dir, $"request-{batch}.json");
                var result = Path.Combine(dir, $"result-{batch}.json");
                File.WriteAllText(request, JsonSerializer.Serialize(new { prompts, max_new_tokens = newTokens, threads, repeats }));
                var (ok, message) = RunPeer(script, dir, request, result);
                if (!ok)
                {
                    Console.WriteLine($"peer not available: {message}");
                    return;
                }
                using var json = JsonDocument.Parse(File.ReadAllText(result));
                var peerSeconds = json.RootElement.GetProperty("seconds").GetDouble();
                var peerTokens = json.RootElement.GetProperty("tokens").EnumerateArray().Select(row => row.EnumerateArray().Select(t => t.GetInt32()).ToArray()).ToArray();
                // Our engine stops a row at EOS; the peer runs every row the full length, so compare our tokens with the peer's prefix.
                var same = ours!.Select((r, i) => r.Samples[0].TokenIds.SequenceEqual(peerTokens[i].Take(r.Samples[0].TokenIds.Count))).Count(x => x);
                var ourRate = ourTokens / ourSeconds;
                var peerRate = batch * newTokens / peerSeconds;
                Console.WriteLine(F($"| {batch} | {ourRate:N0} | {peerRate:N0} | **{ourRate / peerRate:F2}×** | {same}/{batch} |"));
            }
            Console.WriteLine("peer torch " + JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "result-64.json"))).RootElement.GetProperty("torch").GetString());
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    /// <summary>Runs the peer with STEPWISER_PEER_PYTHON, else Debian's /usr/bin/python3 (where apt's python3-torch lives), else python3 on PATH.</summary>
    private static (bool Ok, string Message) RunPeer(string script, string checkpoint, string request, string result)
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

    private static string FindScript()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "StepWiser.ML.Benchmarks", "peers", "torch_generate.py");
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException("peers/torch_generate.py not found above " + AppContext.BaseDirectory);
    }

    private static string F(FormattableString s) => s.ToString(Inv);
}
