using System.Diagnostics;
using System.Text.Json;
using StepWiser.ML.Tokenization;
using StepWiser.ML.Tests.Infrastructure;

namespace StepWiser.ML.Tests.Tokenization;

/// <summary>
/// Our tokenizer.json loader (Microsoft.ML.Tokenizers) against Hugging Face's own Rust implementation
/// (Tokenizers.DotNet) on the real Qwen tokenizer and real text from ../shared/data.
/// </summary>
[TestClass]
public sealed class TokenizerParityTests
{
    private static IEnumerable<string> RealStrings()
    {
        foreach (var subset in new[] { "gsm8k", "math", "olympiadbench", "omnimath" })
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(TestData.PathOf("processbench", subset + ".json")));
            foreach (var record in doc.RootElement.EnumerateArray().Take(300))
            {
                yield return record.GetProperty("problem").GetString()!;
                foreach (var step in record.GetProperty("steps").EnumerateArray().Take(4)) yield return step.GetString()!;
            }
        }
        foreach (var line in File.ReadLines(TestData.PathOf("math500", "test.jsonl")))
        {
            using var doc = JsonDocument.Parse(line);
            yield return doc.RootElement.GetProperty("problem").GetString()!;
            yield return doc.RootElement.GetProperty("solution").GetString()!;
            yield return doc.RootElement.GetProperty("answer").GetString()!;
        }
        foreach (var line in File.ReadLines(TestData.PathOf("gsm8k", "test.jsonl")).Take(600))
        {
            using var doc = JsonDocument.Parse(line);
            yield return doc.RootElement.GetProperty("question").GetString()!;
            yield return doc.RootElement.GetProperty("answer").GetString()!;
        }
    }

    private static IEnumerable<string> AdversarialStrings()
    {
        string[] pieces = ["😀", "👩‍👩‍👧", "数学题", "証明", "Ü", "e\u0301", "\r\n", "\n\n\n", "   ", "\t", "1234567890123456789", "<|im_start|>", "<|im_end|>",
            "<|endoftext|>", "\\frac{a}{b}", "  x", "'s", "'LL", "$$", "\u00a0", "\u200b", "ﬁ", "Ω≈ç√∫", "🤖🤖", " ", "<think>", "</think>"];
        var random = new Random(2026);
        for (int i = 0; i < 600; i++)
            yield return string.Concat(Enumerable.Range(0, random.Next(1, 9)).Select(_ => random.Next(3) == 0 ? pieces[random.Next(pieces.Length)] : ((char)random.Next(32, 127)).ToString()));
        yield return new string('9', 500);
        yield return string.Concat(Enumerable.Repeat("ab \n", 300));
    }

    [TestMethod]
    public void QwenTokenizerMatchesHuggingFaceOnRealAndAdversarialText()
    {
        string path = TestData.PathOf("tokenizers", "qwen3", "tokenizer.json");
        var ours = HuggingFaceTokenizer.Load(path);
        using var oracle = new Tokenizers.DotNet.Tokenizer(path);
        var strings = RealStrings().Concat(AdversarialStrings()).Where(s => s.Length > 0).ToArray();
        Assert.IsTrue(strings.Length >= 5000, $"only {strings.Length} strings");

        var mismatches = new List<string>();
        foreach (var s in strings)
        {
            var expected = oracle.Encode(s).Select(x => (int)x).ToArray();
            var actual = ours.EncodeToIds(s).ToArray();
            if (!expected.SequenceEqual(actual)) mismatches.Add($"{JsonSerializer.Serialize(s)}: HF [{string.Join(",", expected.Take(12))}…] ours [{string.Join(",", actual.Take(12))}…]");
            else if (ours.Decode(actual) != s.Normalize(System.Text.NormalizationForm.FormC)) mismatches.Add($"{JsonSerializer.Serialize(s)}: decode round trip differs");
        }
        Assert.AreEqual(0, mismatches.Count, $"{mismatches.Count} of {strings.Length} differ, e.g.\n{string.Join("\n", mismatches.Take(8))}");
    }
}
