using System.Text.Json;
using StepWiser.ML.Tokenization;

/// <summary>
/// Encode speed of our tokenizer.json loader (Microsoft.ML.Tokenizers) against Hugging Face's Rust tokenizers
/// (Tokenizers.DotNet) on the real Qwen tokenizer and real text (ProcessBench steps and problems, MATH-500
/// solutions, GSM8K answers) from ../shared/data.
/// </summary>
internal static class TokenizerBenchmark
{
    public static void Run(int repeats)
    {
        var data = FindData();
        if (data is null)
        {
            Console.WriteLine("tokenizer: skipped (../shared/data not found; set STEPWISER_DATA)");
            return;
        }
        var texts = Corpus(data).ToArray();
        var path = Path.Combine(data, "tokenizers", "qwen3", "tokenizer.json");
        var ours = HuggingFaceTokenizer.Load(path);
        using var oracle = new Tokenizers.DotNet.Tokenizer(path);
        long chars = texts.Sum(t => (long)t.Length);
        long tokens = 0;
        var (oursCold, oursWarm) = Timing.ColdAndBest(repeats, () => tokens = texts.Sum(t => (long)ours.EncodeToIds(t).Count));
        long oracleTokens = 0;
        var (oracleCold, oracleWarm) = Timing.ColdAndBest(repeats, () => oracleTokens = texts.Sum(t => (long)oracle.Encode(t).Length));
        if (tokens != oracleTokens) Console.WriteLine($"tokenizer: WARNING token counts differ ({tokens:N0} vs {oracleTokens:N0})");
        Console.WriteLine($"tokenizer encode ({texts.Length:N0} strings, {chars:N0} chars, {tokens:N0} tokens, one thread):");
        Console.WriteLine($"  first pass (cold word caches): ours {tokens / oursCold:N0} tok/s; Hugging Face tokenizers {oracleTokens / oracleCold:N0} tok/s; ratio {oracleCold / oursCold:F2}");
        Console.WriteLine($"  best of {repeats} later passes:   ours {tokens / oursWarm:N0} tok/s; Hugging Face tokenizers {oracleTokens / oracleWarm:N0} tok/s; ratio {oracleWarm / oursWarm:F2}");
    }

    private static IEnumerable<string> Corpus(string data)
    {
        foreach (var subset in new[] { "gsm8k", "math", "olympiadbench", "omnimath" })
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(data, "processbench", subset + ".json")));
            foreach (var record in doc.RootElement.EnumerateArray())
            {
                yield return record.GetProperty("problem").GetString()!;
                foreach (var step in record.GetProperty("steps").EnumerateArray()) yield return step.GetString()!;
            }
        }
        foreach (var line in File.ReadLines(Path.Combine(data, "math500", "test.jsonl")))
        {
            using var doc = JsonDocument.Parse(line);
            yield return doc.RootElement.GetProperty("solution").GetString()!;
        }
        foreach (var line in File.ReadLines(Path.Combine(data, "gsm8k", "test.jsonl")))
        {
            using var doc = JsonDocument.Parse(line);
            yield return doc.RootElement.GetProperty("answer").GetString()!;
        }
    }

    private static string? FindData()
    {
        var env = Environment.GetEnvironmentVariable("STEPWISER_DATA");
        if (!string.IsNullOrEmpty(env) && Directory.Exists(env)) return env;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "data");
            if (File.Exists(Path.Combine(candidate, "README.md"))) return candidate;
        }
        return null;
    }
}
