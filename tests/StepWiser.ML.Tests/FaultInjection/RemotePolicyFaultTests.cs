using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;

namespace StepWiser.ML.Tests.FaultInjection;

/// <summary>
/// <c>annotate</c> against a scripted fake policy server that misbehaves (<see cref="ScriptedOpenAIServer"/>): every
/// fault ends the run within its time limits with a non-zero exit and one <c>error:</c> line naming the endpoint and
/// what went wrong; no label is written from a failed request and the earlier output stays byte-identical.
/// </summary>
[TestClass]
public sealed class RemotePolicyFaultTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private static Reply Script(string fault, ScriptedRequest r) => (fault, r.IsCompletion) switch
    {
        ("models-stall", false) => Reply.StallAfterHeaders(),
        ("models-number-id", false) => Reply.Json("{\"data\": [{\"id\": 42}]}"),
        ("models-no-list", false) => Reply.Json("{\"data\": {\"id\": \"fake\"}}"),
        (_, false) => Reply.Json("{\"data\": [{\"id\": \"fake\"}]}"),
        ("completions-stall", true) => Reply.StallAfterHeaders(),
        ("cut-body", true) => Reply.Cut(ScriptedOpenAIServer.Completion(ScriptedOpenAIServer.N(r), "The answer is \\boxed{7}."), 20),
        ("reset", true) => Reply.Reset(),
        ("huge-body", true) => Reply.Huge(48L << 20),
        ("choices-object", true) => Reply.Json("{\"choices\": {\"index\": 0, \"text\": \"x\"}}"),
        ("choice-text-number", true) => Reply.Json(ScriptedOpenAIServer.Completion(ScriptedOpenAIServer.N(r), "@").Replace("\"@\"", "5", StringComparison.Ordinal)),
        ("bad-utf8", true) => Reply.Bytes(BadUtf8Completion(ScriptedOpenAIServer.N(r))),
        _ => Reply.Json(ScriptedOpenAIServer.Completion(ScriptedOpenAIServer.N(r), "The answer is \\boxed{7}.")),
    };

    /// <summary>A completion whose every text holds the byte 0xFF inside the boxed answer: not UTF-8, so not an answer.</summary>
    private static byte[] BadUtf8Completion(int n)
    {
        var json = Encoding.UTF8.GetBytes(ScriptedOpenAIServer.Completion(n, "The answer is \\boxed{7@}."));
        for (var i = 0; i < json.Length; i++) if (json[i] == (byte)'@') json[i] = 0xFF;
        return json;
    }

    [TestMethod]
    [TestCategory("Slow")]
    [DataRow("models-stall", "/v1/models")]
    [DataRow("models-number-id", "/v1/models")]
    [DataRow("models-no-list", "/v1/models")]
    [DataRow("completions-stall", "/v1/completions")]
    [DataRow("cut-body", "/v1/completions")]
    [DataRow("reset", "/v1/completions")]
    [DataRow("huge-body", "/v1/completions", "larger than")]
    [DataRow("choices-object", "/v1/completions", "choices")]
    [DataRow("choice-text-number", "/v1/completions", "text")]
    [DataRow("bad-utf8", "/v1/completions", "UTF-8")]
    public async Task AMisbehavingPolicyServerFailsTheRunWithinItsLimitsAndWritesNothing(string fault, string endpoint, string? detail = null)
    {
        using var w = Workspace.Create("remote-" + fault);
        var input = w.Solutions("in.jsonl", 2);
        var output = w.Write("out.jsonl", "EARLIER OUTPUT\n");
        await using var server = new ScriptedOpenAIServer(r => Script(fault, r));
        var before = w.Snapshot();
        string[] args = ["annotate", "--input", input, "--output", output, "--policy-url", server.BaseUrl, "--prompt-format", "raw", "--rollouts", "2", "--max-new-tokens", "16",
            "--batch-size", "1", "--retries", "0", "--timeout", "3", "--max-consecutive-failures", "1"];
        if (!fault.StartsWith("models-", StringComparison.Ordinal)) args = [.. args, "--policy-model", "fake"];
        var clock = Stopwatch.StartNew();
        var expected = detail is null ? new[] { endpoint } : [endpoint, detail];
        Workspace.ExpectFailure(args, 4, Limit, expected);
        Assert.IsLessThan(30, clock.Elapsed.TotalSeconds, "bounded by --timeout, not by the server");
        Assert.IsEmpty(w.AssertUnchanged(before, fault), "no file was created");
    }

    [TestMethod]
    public async Task WithoutAStoreTheErrorPromisesNoResume()
    {
        using var w = Workspace.Create("remote-nostore");
        var input = w.Solutions("in.jsonl", 2);
        await using var server = new ScriptedOpenAIServer(r => r.IsCompletion ? Reply.Json("{\"error\": {\"message\": \"down\"}}", 500) : Script("", r));
        string[] args = ["annotate", "--input", input, "--output", w.PathOf("out.jsonl"), "--policy-url", server.BaseUrl, "--policy-model", "fake",
            "--prompt-format", "raw", "--rollouts", "2", "--batch-size", "1", "--retries", "0", "--max-consecutive-failures", "1"];
        var error = Workspace.ExpectFailure(args, 4, Limit, "500");
        Assert.DoesNotContain("store", error, "no --store was given, so nothing can resume from one");

        // With --store the resume is real, and the message says so.
        Workspace.ExpectFailure([.. args, "--store", w.PathOf("store")], 4, Limit, "500", "a rerun with the same store resumes");
    }

    [TestMethod]
    public async Task AFailedPrefixWithoutAStoreIsReportedWithoutAResumeHint()
    {
        using var w = Workspace.Create("remote-partial");
        var input = w.Solutions("in.jsonl", 3);
        // Every request about the first solution fails; the others work.
        var first = JsonNode.Parse(File.ReadLines(input).First())!["prompt"]!.GetValue<string>();
        await using var server = new ScriptedOpenAIServer(r => r.IsCompletion && r.Json?["prompt"]?.GetValue<string>().Contains(first, StringComparison.Ordinal) == true
            ? Reply.Json("{\"error\": {\"message\": \"flaky\"}}", 500)
            : Script("", r));
        var (code, _, stderr) = Infrastructure.SamplesApp.Run(["annotate", "--input", input, "--output", w.PathOf("out.jsonl"), "--policy-url", server.BaseUrl,
            "--policy-model", "fake", "--prompt-format", "raw", "--rollouts", "2", "--batch-size", "1", "--retries", "0", "--max-consecutive-failures", "0"], Limit);
        Assert.AreEqual(3, code, stderr);
        Assert.DoesNotContain("--store", stderr, stderr);
        Assert.IsTrue(File.ReadAllLines(w.PathOf("out.jsonl")).Any(l => JsonNode.Parse(l)!["labels_AbsoluteQ"] is null), "some solutions got no labels");
    }
}
