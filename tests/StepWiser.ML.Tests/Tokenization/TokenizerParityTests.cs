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

        // Letters and digits outside the Basic Multilingual Plane beside every ASCII punctuation mark (math copied from
        // PDFs and model output): .NET's regex sees their surrogates, not their categories.
        string[] astral = ["𝑥", "𝑓", "𝟙", "𝟐", "𠀀", "𝐀𝐁", "𝔽", "😀", "𝛼"];
        var punctuation = Enumerable.Range(33, 94).Select(c => (char)c).Where(c => !char.IsLetterOrDigit(c)).ToArray();
        foreach (var a in astral)
            foreach (var p in punctuation)
            {
                yield return $"{a}{p}x";
                yield return $"{p}{a}{p}";
            }
        foreach (var s in new[] { "𝑓(x)", "𝑥's", "𝑥-y", "𝑥=y", "𝑥_n", "𝑥^n", "𝑥.y", "𝟙(a)", "𠀀-ab", "𝟙𝟚𝟛 12", " 𝑥𝑦 ", "a𝑥b", "𝑥\n\n𝑦", "'𝑥", "𝟗9" })
            yield return s;
        for (var i = 0; i < 300; i++)
            yield return string.Concat(Enumerable.Range(0, random.Next(2, 10)).Select(_ => random.Next(3) switch
            {
                0 => astral[random.Next(astral.Length)],
                1 => punctuation[random.Next(punctuation.Length)].ToString(),
                _ => ((char)random.Next(32, 127)).ToString(),
            }));

        // Added tokens are matched on the raw text before normalisation: a combining mark after one stays a mark.
        foreach (var special in new[] { "<|im_start|>", "<|im_end|>", "<|endoftext|>", "</think>" })
            foreach (var mark in new[] { "\u0338", "\u0301", "\u0308x", "\u20D2" })
                yield return $"a{special}{mark} b";
    }

    /// <summary>What decoding the ids gives back: the text with each part between added tokens NFC-normalised on its own.</summary>
    private static string Normalized(string s)
    {
        string[] special = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "</think>"];
        var parts = System.Text.RegularExpressions.Regex.Split(s, "(" + string.Join("|", special.Select(System.Text.RegularExpressions.Regex.Escape)) + ")");
        return string.Concat(parts.Select(p => special.Contains(p) ? p : p.Normalize(System.Text.NormalizationForm.FormC)));
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
            else if (ours.Decode(actual) != Normalized(s)) mismatches.Add($"{JsonSerializer.Serialize(s)}: decode round trip differs");
        }
        Assert.AreEqual(0, mismatches.Count, $"{mismatches.Count} of {strings.Length} differ, e.g.\n{string.Join("\n", mismatches.Take(8))}");
    }
}
