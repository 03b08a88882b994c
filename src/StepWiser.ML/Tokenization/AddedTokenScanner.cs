namespace StepWiser.ML.Tokenization;

/// <summary>
/// Finds added (special) tokens in raw text the way Hugging Face matches them: leftmost first, and the longest token
/// where two start at the same place. Shared by the normaliser (which leaves them alone) and the pre-tokenizer (which
/// splits them out).
/// </summary>
internal sealed class AddedTokenScanner
{
    private readonly string[] _tokens;

    public AddedTokenScanner(IEnumerable<string>? tokens) =>
        _tokens = tokens?.Where(t => t.Length > 0).OrderByDescending(t => t.Length).ThenBy(t => t, StringComparer.Ordinal).ToArray() ?? [];

    public bool IsEmpty => _tokens.Length == 0;

    /// <summary>The first added token at or after <paramref name="from"/>, or (-1, null).</summary>
    public (int At, string? Token) Next(string text, int from)
    {
        var at = -1;
        string? found = null;
        foreach (var token in _tokens)
        {
            var i = text.IndexOf(token, from, StringComparison.Ordinal);
            if (i >= 0 && (at < 0 || i < at)) { at = i; found = token; }   // ties keep the longer (earlier in the list)
        }
        return (at, found);
    }
}
