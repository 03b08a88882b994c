using System.Text;
using Microsoft.ML.Tokenizers;

namespace StepWiser.ML.Tokenization;

/// <summary>
/// Unicode NFC normalisation, the <c>{"type": "NFC"}</c> normaliser of Hugging Face tokenizer files. Given the added
/// tokens, it leaves them alone and normalises the text between them separately, as Hugging Face does (added tokens
/// with <c>normalized: false</c> are matched on the raw text first): <c>&lt;|im_start|&gt;</c> followed by U+0338 stays
/// the special token instead of turning <c>&gt;</c> + U+0338 into <c>≯</c>.
/// </summary>
internal sealed class NfcNormalizer : Normalizer
{
    private readonly AddedTokenScanner _protected;

    /// <summary>Normalises the whole text.</summary>
    public NfcNormalizer() => _protected = new AddedTokenScanner(null);

    /// <summary>Normalises the text between occurrences of <paramref name="protectedTokens"/>, each part on its own.</summary>
    public NfcNormalizer(IEnumerable<string> protectedTokens) => _protected = new AddedTokenScanner(protectedTokens);

    /// <inheritdoc />
    public override string Normalize(string original)
    {
        if (original.IsNormalized(NormalizationForm.FormC)) return original;
        if (_protected.IsEmpty) return original.Normalize(NormalizationForm.FormC);
        var sb = new StringBuilder(original.Length);
        var start = 0;
        while (start < original.Length)
        {
            var (at, token) = _protected.Next(original, start);
            var end = at < 0 ? original.Length : at;
            if (end > start) sb.Append(original[start..end].Normalize(NormalizationForm.FormC));
            if (at < 0) break;
            sb.Append(token);
            start = at + token!.Length;
        }
        return sb.ToString();
    }

    /// <inheritdoc />
    public override string Normalize(ReadOnlySpan<char> original) => Normalize(original.ToString());
}
