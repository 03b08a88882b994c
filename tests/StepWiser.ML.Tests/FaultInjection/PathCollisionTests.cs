using System.Collections.Concurrent;
using StepWiser.ML.Annotation;
using StepWiser.ML.Tests.Infrastructure;

namespace StepWiser.ML.Tests.FaultInjection;

/// <summary>
/// Output paths that would overwrite an input: the same file, a file inside a model, judge, base or store folder, a
/// folder that holds an input, a symbolic link into one. Each is refused before any work with exit 2 and one line
/// naming both options, and every file stays byte-identical. Temporary files never collide with a user's files, and
/// <c>--overwrite</c> replaces a judge folder whole.
/// </summary>
[TestClass]
public sealed class PathCollisionTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(90);

    [TestMethod]
    [TestCategory("Slow")]
    public void AnOutputThatWouldOverwriteAnInputIsRefusedBeforeAnyWork()
    {
        using var w = Workspace.Create("collide");
        var policy = w.Checkpoint("policy");
        var judge = w.Judge("judge");
        var solutions = w.Solutions("in.jsonl", 1);
        var trl = w.Write("trl.jsonl", "{\"prompt\":\"p\",\"completions\":[\"a\",\"b\"],\"labels\":[true,false]}\n");
        var benchmark = w.Benchmark("bench.json", 2);
        var store = w.PathOf("store");
        Directory.CreateDirectory(store);
        File.WriteAllText(Path.Combine(store, "main" + RolloutStore.Extension), "{\"key\":\"a\",\"rewards\":[1,0]}\n");
        var link = w.PathOf("link-to-policy");
        Directory.CreateSymbolicLink(link, policy);
        var trainFolder = w.PathOf("train-data");
        Directory.CreateDirectory(trainFolder);
        var trlInside = Path.Combine(trainFolder, "trl.jsonl");
        File.Copy(trl, trlInside);

        string[] Annotate(string output, params string[] more) => ["annotate", "--input", solutions, "--output", output, "--policy", policy, "--rollouts", "2", "--max-new-tokens", "8", .. more];
        string[] Train(string output, params string[] more) => ["train-judge", "--input", trl, "--base", policy, "--output", output, "--steps", "1", "--max-new-tokens", "8", .. more];
        var cases = new (string[] Args, string[] Expected)[]
        {
            (Annotate(Path.Combine(policy, "tokenizer.json")), ["--output", "--policy"]),
            (Annotate(Path.Combine(policy, "labels.jsonl")), ["--output", "--policy"]),
            (Annotate(Path.Combine(link, "labels.jsonl")), ["--output", "--policy"]),
            (Annotate(Path.Combine(store, "main" + RolloutStore.Extension), "--store", store), ["--output", "--store"]),
            (Annotate(w.PathOf("ok.jsonl"), "--store", store, "--trl", Path.Combine(store, "x.jsonl")), ["--trl", "--store"]),
            (Annotate(w.PathOf("ok.jsonl"), "--store", policy), ["--store", "--policy"]),
            (Annotate(w.PathOf("ok.jsonl"), "--trl", solutions), ["--trl", "--input"]),
            (["evaluate", "--judge", judge, "--input", benchmark, "--output", Path.Combine(judge, "config.json")], ["--output", "--judge"]),
            (["evaluate", "--judge", judge, "--input", benchmark, "--output", Path.Combine(judge, "predictions.jsonl")], ["--output", "--judge"]),
            (["evaluate", "--judge", judge, "--input", benchmark, "--output", benchmark], ["--output", "--input"]),
            (Train(w.PathOf("j1"), "--log", Path.Combine(policy, "model.safetensors")), ["--log", "--base"]),
            (Train(w.PathOf("j2"), "--log", trl), ["--log", "--input"]),
            (Train(policy, "--overwrite"), ["--output", "--base"]),
            (Train(Path.Combine(policy, "judge"), "--overwrite"), ["--output", "--base"]),
            (Train(w.Root, "--overwrite"), ["--output", "holds"]),
            (["train-judge", "--input", trlInside, "--base", policy, "--output", trainFolder, "--overwrite", "--steps", "1"], ["--output", "--input"]),
            (Train(w.PathOf("j3"), "--checkpoints", Path.Combine(policy, "ckpt")), ["--checkpoints", "--base"]),
            (Train(w.PathOf("j4"), "--checkpoints", w.PathOf("j4")), ["--checkpoints", "--output"]),
            (Train(w.PathOf("j5"), "--log", Path.Combine(w.PathOf("j5"), "log.csv")), ["--log", "--output"]),
        };
        var before = w.Snapshot();
        var failures = new ConcurrentBag<string>();
        Parallel.ForEach(cases, new ParallelOptions { MaxDegreeOfParallelism = 2 }, c =>
        {
            try { Workspace.ExpectFailure(c.Args, 2, Limit, c.Expected); }
            catch (AssertFailedException e) { failures.Add(e.Message.Replace(w.Root, "…", StringComparison.Ordinal)); }
        });
        Assert.IsEmpty(failures, $"{failures.Count} of {cases.Length} cases failed:\n" + string.Join("\n", failures.Order()));
        Assert.IsEmpty(w.AssertUnchanged(before, "collisions"), "nothing was created");
    }

    [TestMethod]
    public void TemporaryFilesNeverTouchAUsersFilesBesideTheOutput()
    {
        using var w = Workspace.Create("tmpname");
        var policy = w.Checkpoint("policy");
        var solutions = w.Solutions("labels.jsonl.tmp", 1);       // the input is named like the output's old temporary file
        var users = w.Write("trl.jsonl.tmp", "A USER'S OWN FILE\n"); // and a file of the user's beside the TRL output
        var before = w.Snapshot();
        var (code, _, stderr) = SamplesApp.Run(["annotate", "--input", solutions, "--output", w.PathOf("labels.jsonl"), "--trl", w.PathOf("trl.jsonl"),
            "--policy", policy, "--rollouts", "2", "--max-new-tokens", "8"], Limit);
        Assert.AreEqual(0, code, stderr);
        CollectionAssert.AreEquivalent(new[] { "labels.jsonl", "trl.jsonl" }, w.AssertUnchanged(before, "temporary names").ToArray(), "only the outputs are new: no temporary file is left");
        Assert.AreEqual("A USER'S OWN FILE\n", File.ReadAllText(users));
    }

    [TestMethod]
    public void OverwriteReplacesAJudgeFolderWholeAndKeepsNoStaleFile()
    {
        using var w = Workspace.Create("overwrite");
        var policy = w.Checkpoint("policy");
        var trl = w.Write("trl.jsonl", "{\"prompt\":\"p\",\"completions\":[\"a\",\"b\"],\"labels\":[true,false]}\n{\"prompt\":\"q\",\"completions\":[\"c\"],\"labels\":[false]}\n");
        var judge = w.PathOf("judge");
        Directory.CreateDirectory(judge);
        File.WriteAllText(Path.Combine(judge, "model-00001-of-00002.safetensors"), "A STALE SHARD");
        File.WriteAllText(Path.Combine(judge, "notes.txt"), "STALE");
        var (code, _, stderr) = SamplesApp.Run(["train-judge", "--input", trl, "--base", policy, "--output", judge, "--overwrite", "--steps", "1",
            "--prompts-per-step", "2", "--group-size", "2", "--max-new-tokens", "8", "--warmup-steps", "2"], Limit);
        Assert.AreEqual(0, code, stderr);
        var files = Directory.GetFiles(judge).Select(Path.GetFileName).Order().ToArray();
        CollectionAssert.DoesNotContain(files, "notes.txt", string.Join(", ", files));
        CollectionAssert.DoesNotContain(files, "model-00001-of-00002.safetensors", string.Join(", ", files));
        CollectionAssert.Contains(files, "model.safetensors");
        CollectionAssert.Contains(files, "stepwiser-judge.json");
        var siblings = Directory.GetFileSystemEntries(w.Root).Select(Path.GetFileName).Order().ToArray();
        CollectionAssert.AreEquivalent(new[] { "policy", "trl.jsonl", "judge", "judge.grpo.csv" }, siblings, "no temporary or old folder is left beside it: " + string.Join(", ", siblings));
    }
}
