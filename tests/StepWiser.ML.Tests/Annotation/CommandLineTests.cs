using System.Diagnostics;
using StepWiser.ML.Samples.Serving;

namespace StepWiser.ML.Tests.Annotation;

/// <summary>The samples app's command line: bad arguments give one line on stderr and a non-zero exit, not a stack trace.</summary>
[TestClass]
public sealed class CommandLineTests
{
    [TestMethod]
    [DataRow("--preset nope", "unknown preset 'nope'")]
    [DataRow("annotate --input /nonexistent.jsonl --output /tmp/x.jsonl --policy /tmp", "does not exist")]
    [DataRow("annotate --input /etc/hostname --output /tmp/x.jsonl", "exactly one of --policy")]
    [DataRow("serve", "exactly one of --model")]
    [DataRow("evaluate --judge /tmp --input /etc/hostname", "not a saved StepWiser judge")]
    public void BadArgumentsGiveOneLineAndANonZeroExit(string arguments, string expected)
    {
        var start = new ProcessStartInfo("dotnet", $"\"{typeof(OpenAICompatibleServer).Assembly.Location}\" {arguments}") { RedirectStandardError = true, RedirectStandardOutput = true };
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEnd();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.AreNotEqual(0, process.ExitCode);
        StringAssert.Contains(stderr, expected);
        Assert.DoesNotContain("   at ", stderr, "no stack trace");
    }
}
