using System.Diagnostics;
using StepWiser.ML.Annotation;
using StepWiser.ML.Tests.Infrastructure;

namespace StepWiser.ML.Tests.FaultInjection;

/// <summary>
/// Each writing command killed with SIGKILL in the middle of its work (no chance to clean up): every file written
/// before the run — the earlier output, an earlier judge folder and its metrics CSV, the finished records of a rollout
/// store — is byte-identical afterwards, and no output path holds a half-written file. What a killed run may leave is
/// its own temporary files, hidden and uniquely named beside the outputs.
/// </summary>
[TestClass]
public sealed class KillDuringWriteTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(2);

    /// <summary>Runs the CLI and kills it when a line of its output matches <paramref name="when"/>; true when it was killed.</summary>
    private static bool RunAndKill(string[] args, Func<string, bool> when)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(SamplesApp.Dll);
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = new Process { StartInfo = start };
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        void Watch(object _, DataReceivedEventArgs e)
        {
            if (e.Data is null) return;
            lines.Enqueue(e.Data);
            if (when(e.Data)) seen.TrySetResult();
        }
        process.OutputDataReceived += Watch;
        process.ErrorDataReceived += Watch;
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var exited = process.WaitForExitAsync();
        var first = Task.WhenAny(seen.Task, exited, Task.Delay(Limit)).Result;
        if (first != seen.Task)
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            Assert.Fail($"the run {(first == exited ? $"ended (exit {process.ExitCode})" : "timed out")} before it could be killed: {string.Join(" | ", lines)}");
        }
        process.Kill(entireProcessTree: true); // SIGKILL
        process.WaitForExit();
        return true;
    }

    private static void AssertOnlyHiddenTemporariesAreNew(IReadOnlyList<string> created, string what)
    {
        var visible = created.Where(f => !f.Split(Path.DirectorySeparatorChar).Any(part => part.StartsWith('.'))).ToArray();
        Assert.IsEmpty(visible, $"{what}: a killed run left files at visible paths: {string.Join(", ", visible)}");
    }

    [TestMethod]
    public void AKilledTrainJudgeOverwriteLeavesTheEarlierJudgeAndItsMetricsAsTheyWere()
    {
        using var w = Workspace.Create("kill-train");
        var policy = w.Checkpoint("policy");
        var trl = w.Write("trl.jsonl", "{\"prompt\":\"p\",\"completions\":[\"a\",\"b\"],\"labels\":[true,false]}\n{\"prompt\":\"q\",\"completions\":[\"c\"],\"labels\":[false]}\n");
        w.Judge("judge");
        w.Write("judge.grpo.csv", "step,mean_reward\n1,0.5\n2,0.75\n");
        var before = w.Snapshot();
        RunAndKill(["train-judge", "--input", trl, "--base", policy, "--output", w.PathOf("judge"), "--overwrite", "--steps", "500",
            "--prompts-per-step", "2", "--group-size", "2", "--max-new-tokens", "8", "--warmup-steps", "2"], line => line.Contains(" step 2/500", StringComparison.Ordinal));
        AssertOnlyHiddenTemporariesAreNew(w.AssertUnchanged(before, "killed train-judge"), "train-judge");
    }

    [TestMethod]
    public void AKilledEvaluateLeavesTheEarlierPredictionsAsTheyWere()
    {
        using var w = Workspace.Create("kill-eval");
        var judge = w.Judge("judge", maxNewTokens: 48);
        var benchmark = w.Benchmark("bench.json", 400);
        w.Write("predictions.jsonl", "EARLIER PREDICTIONS\n");
        var before = w.Snapshot();
        RunAndKill(["evaluate", "--judge", judge, "--input", benchmark, "--output", w.PathOf("predictions.jsonl")],
            line => line.Contains("judged 8/", StringComparison.Ordinal));
        AssertOnlyHiddenTemporariesAreNew(w.AssertUnchanged(before, "killed evaluate"), "evaluate");
    }

    [TestMethod]
    public void AKilledAnnotateLeavesTheEarlierOutputAndTheStoresFinishedRecords()
    {
        using var w = Workspace.Create("kill-annotate");
        var policy = w.Checkpoint("policy");
        var solutions = w.Solutions("in.jsonl", 40);
        w.Write("labels.jsonl", "EARLIER LABELS\n");
        var store = w.PathOf("store");
        Directory.CreateDirectory(store);
        var earlier = Path.Combine(store, "other" + RolloutStore.Extension);
        File.WriteAllText(earlier, "{\"key\":\"0123\",\"rewards\":[1,0]}\n");
        var before = w.Snapshot();
        RunAndKill(["annotate", "--input", solutions, "--output", w.PathOf("labels.jsonl"), "--policy", policy, "--store", store,
            "--rollouts", "4", "--max-new-tokens", "48", "--batch-size", "1"], line => line.Contains(" 2/40 solutions", StringComparison.Ordinal));
        var created = w.AssertUnchanged(before, "killed annotate");
        // The store's own file and the record of its settings are the new visible files: whole records, each ending in a newline.
        var own = Path.Combine("store", "main" + RolloutStore.Extension);
        var settings = Path.Combine("store", "main" + RolloutStore.SettingsExtension);
        AssertOnlyHiddenTemporariesAreNew(created.Where(f => f != own && f != settings).ToArray(), "annotate");
        using var reopened = new RolloutStore(store, "check");
        Assert.IsGreaterThan(1, reopened.Count, "the earlier record and the killed run's finished prefixes are on disk");
    }
}
