using System.Text.Json.Nodes;
using StepWiser.ML.AnswerChecking;
using StepWiser.ML.Annotation;
using StepWiser.ML.Tests.Infrastructure;

namespace StepWiser.ML.Tests.Annotation;

/// <summary>
/// Merging rollout stores: a store records the settings its rollouts were sampled with, stores of one run merge into
/// one that a rerun reads instead of sampling, and stores of different runs (or of unknown settings) are refused,
/// naming the files and the setting that differs, with the sources only read. Through the library and the <c>merge</c>
/// command.
/// </summary>
[TestClass]
public sealed class RolloutStoreMergeTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(3);

    private static AnnotationInput[] Inputs(int count) =>
        WorldPolicyFixture.World.Generate("merge", count, 6).Select(p => new AnnotationInput(p.Prompt, p.Chunks, p.AnswerText)).ToArray();

    private static async Task<MonteCarloAnnotator> AnnotateAsync(string store, long seed, AnnotationInput[] inputs, int shard = 0, int shards = 1)
    {
        var annotator = new MonteCarloAnnotator(WorldPolicyFixture.Engine(), new MathAnswerVerifier(),
            new MonteCarloOptions { Rollouts = 4, MaxNewTokens = 60, BatchSize = 4, Seed = seed, StoreDirectory = store, ShardIndex = shard, ShardCount = shards, PolicyName = "world" });
        await annotator.AnnotateAsync(inputs);
        return annotator;
    }

    private static Dictionary<string, string> Snapshot(string dir) =>
        Directory.GetFiles(dir, "*", SearchOption.AllDirectories).ToDictionary(f => f, f => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f))));

    [TestMethod]
    public async Task AStoreRecordsItsSettingsAndStoresOfDifferentRunsAreRefusedNamingTheSetting()
    {
        var root = Directory.CreateTempSubdirectory("store-settings").FullName;
        try
        {
            var inputs = Inputs(3);
            string a = Path.Combine(root, "a"), b = Path.Combine(root, "b"), unknown = Path.Combine(root, "unknown"), target = Path.Combine(root, "merged");
            using (var annotator = await AnnotateAsync(a, seed: 11, inputs))
            {
                var recorded = RolloutStore.ReadSettings(Path.Combine(a, "main" + RolloutStore.Extension))!.Single();
                CollectionAssert.AreEquivalent(annotator.Metadata.ToArray(), recorded.ToArray(), "the store records the run's settings");
            }
            (await AnnotateAsync(b, seed: 12, inputs)).Dispose();
            using (var plain = new RolloutStore(unknown)) plain.Append([("k", [1, 0])]);
            var before = Snapshot(root);

            var different = Assert.ThrowsExactly<InvalidDataException>(() => RolloutStore.Merge([a, b], target));
            StringAssert.Contains(different.Message, Path.Combine(a, "main" + RolloutStore.Extension));
            StringAssert.Contains(different.Message, Path.Combine(b, "main" + RolloutStore.Extension));
            StringAssert.Contains(different.Message, "seed '11' vs '12'");
            var noSettings = Assert.ThrowsExactly<InvalidDataException>(() => RolloutStore.Merge([a, unknown], target));
            StringAssert.Contains(noSettings.Message, Path.Combine(unknown, "main" + RolloutStore.Extension));
            StringAssert.Contains(noSettings.Message, "no record of the settings");
            CollectionAssert.AreEquivalent(before.ToArray(), Snapshot(root).ToArray(), "a refused merge writes nothing and the sources are only read");

            Assert.IsGreaterThan(0, RolloutStore.Merge([a], target));
            CollectionAssert.AreEquivalent(before.ToArray(), Snapshot(root).Where(f => !f.Key.StartsWith(target, StringComparison.Ordinal)).ToArray(), "a merge only reads its sources");
            var intoOther = Assert.ThrowsExactly<InvalidDataException>(() => RolloutStore.Merge([b], target));
            StringAssert.Contains(intoOther.Message, "seed", "a target of another run is refused too");
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [TestMethod]
    [TestCategory("Slow")]
    public void TheMergeCommandCombinesShardsSoARerunSamplesNothingAndRefusesOtherRuns()
    {
        var root = Directory.CreateTempSubdirectory("merge-command").FullName;
        try
        {
            var input = Path.Combine(root, "in.jsonl");
            File.WriteAllLines(input, WorldPolicyFixture.World.Generate("merge-cli", 6, 2).Select(p => new JsonObject { ["prompt"] = p.Prompt, ["solution"] = p.ChunkedSolution, ["answer"] = p.AnswerText }.ToJsonString()));
            (int Code, string Stdout, string Stderr) Annotate(string store, string output, params string[] more) => SamplesApp.Run(
                ["annotate", "--input", input, "--output", Path.Combine(root, output), "--policy", WorldPolicyFixture.Directory, "--prompt-format", "raw", "--store", Path.Combine(root, store),
                 "--rollouts", "4", "--max-new-tokens", "60", "--batch-size", "2", .. more], Limit);
            var whole = Annotate("whole", "whole.jsonl");
            Assert.AreEqual(0, whole.Code, whole.Stderr);
            for (var s = 0; s < 2; s++)
            {
                var shard = Annotate($"shard{s}", $"shard{s}.jsonl", "--shard", $"{s}/2");
                Assert.AreEqual(0, shard.Code, shard.Stderr);
            }
            var merged = SamplesApp.Run(["merge", "--store", Path.Combine(root, "shard0"), "--store", Path.Combine(root, "shard1"), "--output", Path.Combine(root, "merged")], Limit);
            Assert.AreEqual(0, merged.Code, merged.Stderr);
            StringAssert.Contains(merged.Stdout, "merged 2 stores");

            var rerun = Annotate("merged", "rerun.jsonl");
            Assert.AreEqual(0, rerun.Code, rerun.Stderr);
            StringAssert.Contains(rerun.Stdout, "sampled 0 rollouts", "every prefix came from the merged store");
            string[] Values(string file) => File.ReadAllLines(Path.Combine(root, file)).Select(l => JsonNode.Parse(l)!["values"]!.ToJsonString()).ToArray();
            CollectionAssert.AreEqual(Values("whole.jsonl"), Values("rerun.jsonl"), "the merged shards hold what one machine sampled");

            var other = Annotate("other", "other.jsonl", "--seed", "5");
            Assert.AreEqual(0, other.Code, other.Stderr);
            var refused = SamplesApp.Run(["merge", "--store", Path.Combine(root, "shard0"), "--store", Path.Combine(root, "other"), "--output", Path.Combine(root, "mixed")], Limit);
            Assert.AreEqual(2, refused.Code, refused.Stderr);
            StringAssert.Contains(refused.Stderr, "seed '1' vs '5'");
            StringAssert.Contains(refused.Stderr, Path.Combine(root, "other"));
            Assert.IsFalse(Directory.Exists(Path.Combine(root, "mixed")), "nothing written");
            var inside = SamplesApp.Run(["merge", "--store", Path.Combine(root, "shard0"), "--output", Path.Combine(root, "shard0", "sub")], Limit);
            Assert.AreEqual(2, inside.Code, inside.Stderr);
            StringAssert.Contains(inside.Stderr, "is inside --store");
        }
        finally { Directory.Delete(root, recursive: true); }
    }
}
