namespace StepWiser.ML.Tests.Infrastructure;

/// <summary>
/// Locates the real data shipped beside the repository in <c>../shared/data</c> (see that folder's README:
/// ProcessBench, GSM8K, MATH-500, the Qwen tokenizer, reference checkpoints). Override with STEPWISER_DATA.
/// </summary>
internal static class TestData
{
    private static readonly Lazy<string?> RootLazy = new(Find);

    public static string Root => RootLazy.Value ?? throw new AssertInconclusiveException(
        "Real test data not found: expected ../shared/data beside the repository (or set STEPWISER_DATA).");

    public static string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string? Find()
    {
        var fromEnv = Environment.GetEnvironmentVariable("STEPWISER_DATA");
        if (!string.IsNullOrEmpty(fromEnv) && Directory.Exists(fromEnv)) return fromEnv;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            foreach (var candidate in new[] { Path.Combine(dir.FullName, "shared", "data"), Path.Combine(dir.FullName, "..", "shared", "data") })
                if (File.Exists(Path.Combine(candidate, "README.md"))) return Path.GetFullPath(candidate);
        }
        return null;
    }
}
