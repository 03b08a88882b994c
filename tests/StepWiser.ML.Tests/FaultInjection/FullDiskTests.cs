using System.Diagnostics;
using StepWiser.ML.Tests.Infrastructure;

namespace StepWiser.ML.Tests.FaultInjection;

/// <summary>
/// A disk that fills up while an output is being written, made with the file-size limit of the child process
/// (<c>ulimit -f</c> with SIGXFSZ ignored: a write past it fails with EFBIG, as one on a full disk fails with ENOSPC): the command fails with the I/O exit code and one
/// <c>error:</c> line, the earlier output is byte-identical and no temporary file is left.
/// </summary>
[TestClass]
public sealed class FullDiskTests
{
    private static (int Code, string Stdout, string Stderr) RunWithFileSizeLimit(int kib, string[] args)
    {
        if (!OperatingSystem.IsLinux()) Assert.Inconclusive("the file-size limit is set with bash's ulimit (Linux)");
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add($"trap '' XFSZ; ulimit -f {kib}; exec dotnet \"$@\"");
        start.Environment["DOTNET_EnableWriteXorExecute"] = "0"; // its double mapping grows a memory file, which the limit would stop
        start.ArgumentList.Add("bash");
        start.ArgumentList.Add(SamplesApp.Dll);
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2))) { process.Kill(true); Assert.Fail("timed out"); }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    [TestMethod]
    public void AnOutputThatDoesNotFitOnTheDiskLeavesTheEarlierOutputAndNoTemporary()
    {
        using var w = Workspace.Create("full-disk");
        var judge = w.Judge("judge");
        var benchmark = w.Benchmark("bench.json", 300);
        var output = w.Write("predictions.jsonl", "EARLIER PREDICTIONS\n");
        var before = w.Snapshot();
        var (code, stdout, stderr) = RunWithFileSizeLimit(16, ["evaluate", "--judge", judge, "--input", benchmark, "--output", output]);
        var what = $"exit {code}; stderr: {stderr}";
        Assert.AreEqual(4, code, what);
        var errors = stderr.Split('\n').Where(l => l.StartsWith("error:", StringComparison.Ordinal)).ToArray();
        Assert.HasCount(1, errors, what);
        StringAssert.Contains(errors[0], "predictions.jsonl", what);
        Assert.DoesNotContain("   at ", stderr + stdout, what);
        Assert.IsEmpty(w.AssertUnchanged(before, "full disk"), "no temporary file is left");
    }
}
