namespace StepWiser.ML.Data;

/// <summary>Short excerpts of user text for error messages, so a hostile megabyte never ends up in one.</summary>
internal static class TextPreview
{
    public static string Shorten(string s) => s.Length <= 40 ? s : s[..37] + "...";
}
