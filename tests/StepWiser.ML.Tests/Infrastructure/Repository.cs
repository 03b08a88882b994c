namespace StepWiser.ML.Tests.Infrastructure;

/// <summary>The repository this test assembly was built from (the folder holding StepWiser.sln above the output folder).</summary>
internal static class Repository
{
    private static readonly Lazy<string> RootLazy = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "StepWiser.sln"))) return dir.FullName;
        throw new AssertInconclusiveException("StepWiser.sln not found above " + AppContext.BaseDirectory);
    });

    public static string PathOf(params string[] parts) => Path.Combine([RootLazy.Value, .. parts]);
}
