using System.Text;
using System.Text.RegularExpressions;
using StepWiser.ML.Data;

namespace StepWiser.ML.Chunking;

/// <summary>
/// Splits reasoning into chunks: by <c>&lt;chunk&gt;…&lt;/chunk&gt;</c> tags (the policy format of StepWiser), at blank
/// lines, or at "Step k" markers; and wraps chunks back into tagged text.
/// </summary>
public static partial class ChunkParser
{
    /// <summary>The opening tag.</summary>
    public const string OpenTag = "<chunk>";

    /// <summary>The closing tag; also the stop string of chunk-by-chunk generation.</summary>
    public const string CloseTag = "</chunk>";

    /// <summary>
    /// Parses tagged text. Well-formed means: only whitespace outside tags, no nesting, every tag closed, no empty
    /// chunk, at least one chunk. Then the text outside the tags plus the text inside them is exactly the input.
    /// </summary>
    public static ChunkParseResult ParseTags(string text, MalformedChunkPolicy policy = MalformedChunkPolicy.Error)
    {
        ArgumentNullException.ThrowIfNull(text);
        var chunks = new List<string>();
        var repairs = 0;
        var position = 0;
        void Problem(string what, int offset)
        {
            if (policy == MalformedChunkPolicy.Error) throw new FormatException($"malformed <chunk> markup at offset {offset}: {what}");
            repairs++;
        }
        void AddChunk(string inner, int offset)
        {
            var trimmed = inner.Trim();
            if (trimmed.Length == 0) Problem("empty chunk", offset);
            else chunks.Add(trimmed);
        }

        while (position < text.Length)
        {
            var open = text.IndexOf(OpenTag, position, StringComparison.Ordinal);
            var close = text.IndexOf(CloseTag, position, StringComparison.Ordinal);
            if (close >= 0 && (open < 0 || close < open))
            {
                // A closing tag with no opening tag before it.
                Problem("closing tag without an opening tag", close);
                AddOutside(text[position..close], position);
                position = close + CloseTag.Length;
                continue;
            }
            var outsideEnd = open < 0 ? text.Length : open;
            AddOutside(text[position..outsideEnd], position);
            if (open < 0) break;

            var start = open + OpenTag.Length;
            var end = text.IndexOf(CloseTag, start, StringComparison.Ordinal);
            var nested = text.IndexOf(OpenTag, start, StringComparison.Ordinal);
            if (nested >= 0 && (end < 0 || nested < end))
            {
                Problem("opening tag inside an open chunk (nested or unclosed chunk)", nested);
                AddChunk(text[start..nested], start);
                position = nested;
                continue;
            }
            if (end < 0)
            {
                Problem("chunk is never closed", open);
                AddChunk(text[start..], start);
                position = text.Length;
                break;
            }
            AddChunk(text[start..end], start);
            position = end + CloseTag.Length;
        }
        if (chunks.Count == 0)
        {
            if (policy == MalformedChunkPolicy.Error) throw new FormatException(text.Trim().Length == 0 ? "empty text: no chunks" : "no <chunk> tags in the text");
        }
        return new ChunkParseResult(chunks, repairs);

        void AddOutside(string outside, int offset)
        {
            if (outside.Trim().Length == 0) return;
            Problem($"text outside chunks: \"{TextPreview.Shorten(outside.Trim())}\"", offset);
            chunks.Add(outside.Trim());
        }
    }

    /// <summary>Splits at blank lines (a line break, optional spaces, another line break); blank pieces are dropped.</summary>
    public static IReadOnlyList<string> SplitBlankLines(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return BlankLine().Split(text).Select(s => s.Trim()).Where(s => s.Length > 0).ToArray();
    }

    /// <summary>
    /// Splits before every line that starts with a "Step k" marker ("Step 1:", "**Step 2.**", "## Step 3 -"); text
    /// before the first marker, if any, is a chunk of its own. Text without markers is one chunk.
    /// </summary>
    public static IReadOnlyList<string> SplitStepMarkers(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var starts = StepMarker().Matches(text).Select(m => m.Index).ToList();
        if (starts.Count == 0 || starts[0] != 0) starts.Insert(0, 0);
        var pieces = new List<string>();
        for (var i = 0; i < starts.Count; i++)
        {
            var end = i + 1 < starts.Count ? starts[i + 1] : text.Length;
            var piece = text[starts[i]..end].Trim();
            if (piece.Length > 0) pieces.Add(piece);
        }
        return pieces;
    }

    /// <summary>Wraps chunks in tags, separated by <paramref name="separator"/> (a blank line by default).</summary>
    public static string Wrap(IEnumerable<string> chunks, string separator = "\n\n") => string.Join(separator, chunks.Select(c => OpenTag + c + CloseTag));

    /// <summary>The text with every <c>&lt;chunk&gt;</c> and <c>&lt;/chunk&gt;</c> tag removed and nothing else changed.</summary>
    public static string StripTags(string text)
    {
        var sb = new StringBuilder(text);
        sb.Replace(OpenTag, "").Replace(CloseTag, "");
        return sb.ToString();
    }

    [GeneratedRegex(@"\r?\n[ \t]*\r?\n\s*")]
    private static partial Regex BlankLine();

    [GeneratedRegex(@"(?m)^[ \t#*]*Step[ \t]*\d+[ \t]*(?:\*\*)?[:.)\-]", RegexOptions.IgnoreCase)]
    private static partial Regex StepMarker();
}
