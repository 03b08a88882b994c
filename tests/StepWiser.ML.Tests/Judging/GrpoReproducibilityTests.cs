using System.Text.Json.Nodes;
using StepWiser.ML.Tests.Infrastructure;

namespace StepWiser.ML.Tests.Judging;

/// <summary>
/// GRPO gives the same judge in two processes with the same seed (a per-process hash once seeded its prompt sampling,
/// so the main job's RL rows changed from run to run).
/// </summary>
[TestClass]
public sealed class GrpoReproducibilityTests
{
    [TestMethod]
    public void TrainJudgeGivesTheSameMetricsAndWeightsInTwoProcesses()
    {
        var dir = Directory.CreateTempSubdirectory("grpo-repro").FullName;
        try
        {
            var input = Path.Combine(dir, "labels.jsonl");
            // Many distinct labelled steps, so which ones a step samples matters.
            File.WriteAllLines(input, WorldPolicyFixture.World.Generate("grpo-repro", 24, 1).Select((p, i) => new JsonObject
            {
                ["prompt"] = p.Problem,
                ["completions"] = new JsonArray(p.Chunks.Select(c => (JsonNode)c).ToArray()),
                ["labels"] = new JsonArray(p.Chunks.Select((_, k) => (JsonNode)((i + k) % 3 != 0)).ToArray()),
            }.ToJsonString()));
            string[] Args(string output) =>
                ["train-judge", "--input", input, "--base", WorldPolicyFixture.Directory, "--output", output, "--steps", "3", "--prompts-per-step", "4",
                 "--group-size", "2", "--max-new-tokens", "16", "--lr", "1e-3", "--seed", "7", "--warmup-steps", "3", "--warmup-batch-size", "8"];
            foreach (var run in new[] { "a", "b" })
            {
                var (code, _, stderr) = SamplesApp.Run(Args(Path.Combine(dir, run)), TimeSpan.FromMinutes(3));
                Assert.AreEqual(0, code, stderr);
            }
            CollectionAssert.AreEqual(File.ReadAllBytes(Path.Combine(dir, "a", "model.safetensors")), File.ReadAllBytes(Path.Combine(dir, "b", "model.safetensors")), "same weights");
            Assert.AreEqual(File.ReadAllText(Path.Combine(dir, "a.grpo.csv")), File.ReadAllText(Path.Combine(dir, "b.grpo.csv")), "same per-step metrics");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
