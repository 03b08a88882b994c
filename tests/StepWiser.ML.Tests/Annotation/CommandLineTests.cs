using StepWiser.ML.Tests.Infrastructure;

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
        var (code, _, stderr) = SamplesApp.Run(arguments.Split(' '), TimeSpan.FromMinutes(2));
        Assert.AreNotEqual(0, code);
        StringAssert.Contains(stderr, expected);
        Assert.DoesNotContain("   at ", stderr, "no stack trace");
    }
}
