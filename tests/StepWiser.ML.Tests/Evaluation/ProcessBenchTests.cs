using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using StepWiser.ML.Evaluation;
using StepWiser.ML.Judging;
using StepWiser.ML.Models;
using StepWiser.ML.Tests.Infrastructure;
using StepWiser.ML.Tokenization;
using StepWiser.ML.Worlds;

namespace StepWiser.ML.Tests.Evaluation;

[TestClass]
public sealed class ProcessBenchTests
{
    private static string[] Files => ProcessBench.Subsets.Select(s => TestData.PathOf("processbench", s + ".json")).ToArray();

    [TestMethod]
    [TestCategory("Slow")]
    public void ReadsTheRealFilesAsAStreamedIDataView()
    {
        var ml = new MLContext();
        var view = ProcessBench.Load(ml, Files);
        var ids = view.GetColumn<string>("Id").ToArray();
        Assert.HasCount(3400, ids);
        CollectionAssert.AreEqual(new[] { 400, 1000, 1000, 1000 }, view.GetColumn<string>("Subset").GroupBy(s => s).Select(g => g.Count()).ToArray());
        var steps = view.GetColumn<string[]>("Steps").First();
        Assert.IsGreaterThan(0, steps.Length);
    }

    [TestMethod]
    public void TrivialPredictorsScoreAsAnIndependentCountSays()
    {
        // Independent of our reader and metric: counts straight from the JSON with JsonDocument.
        foreach (var subset in ProcessBench.Subsets)
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(TestData.PathOf("processbench", subset + ".json")));
            var labels = doc.RootElement.EnumerateArray().Select(r => r.GetProperty("label").GetInt32()).ToArray();
            var errors = labels.Count(l => l != -1);
            var zeroShare = labels.Count(l => l == 0) / (double)errors;

            var records = ProcessBench.Read(TestData.PathOf("processbench", subset + ".json")).ToArray();
            var alwaysNone = ProcessBenchMetrics.Compute(records.Select(r => (r.Subset, r.Label, -1))).Subsets.Single();
            Assert.AreEqual(0, alwaysNone.ErrorAccuracy);
            Assert.AreEqual(1, alwaysNone.CorrectAccuracy);
            Assert.AreEqual(0, alwaysNone.F1);
            var alwaysFirst = ProcessBenchMetrics.Compute(records.Select(r => (r.Subset, r.Label, 0))).Subsets.Single();
            Assert.AreEqual(zeroShare, alwaysFirst.ErrorAccuracy, 1e-12);
            Assert.AreEqual(0, alwaysFirst.F1);
            var oracle = ProcessBenchMetrics.Compute(records.Select(r => (r.Subset, r.Label, r.Label))).Subsets.Single();
            Assert.AreEqual(1, oracle.F1);
            Assert.AreEqual(errors, oracle.ErroneousCount);
            // Half right on each side: F1 = 0.5.
            var half = ProcessBenchMetrics.Compute(records.Select((r, i) => (r.Subset, r.Label, i % 2 == 0 ? r.Label : (r.Label == -1 ? 0 : -1)))).Subsets.Single();
            Assert.AreEqual(half.ErrorAccuracy * half.CorrectAccuracy * 2 / (half.ErrorAccuracy + half.CorrectAccuracy), half.F1, 1e-12);
        }
    }

    [TestMethod]
    public void MalformedRecordsNameFileRecordAndField()
    {
        var path = Path.Combine(Path.GetTempPath(), $"pb-{Guid.NewGuid():N}.json");
        try
        {
            File.WriteAllText(path, """[{"id":"a","generator":"g","problem":"p","steps":["s"],"final_answer_correct":true,"label":-1},{"id":"b","problem":"p","steps":["s"],"final_answer_correct":true,"label":3}]""");
            var e = Assert.ThrowsExactly<InvalidDataException>(() => ProcessBench.Read(path).ToArray());
            StringAssert.Contains(e.Message, "record 1");
            StringAssert.Contains(e.Message, "\"label\"");
            File.WriteAllText(path, """[{"id":"a","problem":"p","steps":"s","final_answer_correct":true,"label":-1}]""");
            StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => ProcessBench.Read(path).ToArray()).Message, "\"steps\"");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestMethod]
    public void F1IsUndefinedWhereASubsetHasNoErroneousOrNoCorrectRecordsAndLeftOutOfTheMean()
    {
        // As in Qwen's evaluation: no correct records in "a" gives NaN there, reported as n/a, not 0 pulling the mean down.
        var metrics = ProcessBenchMetrics.Compute([("a", 1, 1), ("a", 0, 0), ("b", 1, 1), ("b", -1, -1)]);
        var a = metrics.Subsets.Single(s => s.Subset == "a");
        Assert.IsTrue(double.IsNaN(a.CorrectAccuracy) && double.IsNaN(a.F1));
        Assert.AreEqual(1.0, a.ErrorAccuracy);
        Assert.AreEqual(1.0, metrics.AverageF1, "the mean is over the subsets where F1 is defined");
        CollectionAssert.AreEqual(new[] { "a" }, metrics.UndefinedSubsets.ToArray());
        var table = metrics.ToString();
        StringAssert.Contains(table, "n/a");
        Assert.DoesNotContain("NaN", table);
        Assert.IsTrue(double.IsNaN(ProcessBenchMetrics.Compute([("a", 1, 1)]).AverageF1), "no subset defined: the mean is undefined too");
    }

    [TestMethod]
    public void AJudgeRunsOverRealProcessBenchEndToEnd()
    {
        // A small random local judge (its score is near zero; the path is what is tested): reader -> judge -> evaluator.
        var ml = new MLContext();
        // Two erroneous and two correct records per subset, so every subset's F1 is defined.
        var records = ProcessBench.Subsets.SelectMany(s =>
        {
            var all = ProcessBench.Read(TestData.PathOf("processbench", s + ".json")).ToArray();
            return all.Where(r => r.Label >= 0).Take(2).Concat(all.Where(r => r.Label == -1).Take(2));
        }).ToArray();
        var data = ml.Data.LoadFromEnumerable(records);
        using var judge = new StepwiseJudgeTransformer(ModelBundle.BuiltIn(CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 1)), JudgeTemplate.Compact,
            new StepwiseJudgeOptions { ChunksColumnName = "Steps", MaxNewTokens = 4 });
        var judged = judge.Transform(data);
        var metrics = ml.StepWiser().Evaluation.Evaluate(judged);
        Assert.HasCount(4, metrics.Subsets);
        Assert.IsTrue(metrics.AverageF1 is >= 0 and <= 1);
        StringAssert.Contains(metrics.ToString(), "| F1 |");
        // An unparseable verdict is Negative, so a random judge rejects step 0 everywhere.
        Assert.IsTrue(judged.GetColumn<int>("FirstRejected").All(f => f == 0));
    }

    [TestMethod]
    public void TheWorldBenchmarkHasProcessBenchFormatGoldLabelsAndBalance()
    {
        var subsets = new[] { ("easy", WorldPolicyFixture.World), ("harder", new ArithmeticChainWorld(new ArithmeticChainOptions { Difficulty = 0.2 })) };
        var records = WorldBenchmark.BuildAsync(WorldPolicyFixture.Engine(), subsets, perSubset: 12, seed: 3, maxNewTokens: 80).GetAwaiter().GetResult();
        Assert.IsNotEmpty(records);
        foreach (var r in records)
        {
            var steps = r.Steps;
            Assert.IsTrue(r.Label >= -1 && r.Label < steps.Length);
        }
        foreach (var g in records.GroupBy(r => r.Subset))
            Assert.IsLessThanOrEqualTo(6, g.Count(r => r.Label >= 0), "at most half erroneous");
        var path = Path.Combine(Path.GetTempPath(), $"world-pb-{Guid.NewGuid():N}.json");
        try
        {
            ProcessBench.Write(path, records);
            var back = ProcessBench.Read(path).ToArray();
            Assert.HasCount(records.Count, back);
            CollectionAssert.AreEqual(records.Select(r => r.Label).ToArray(), back.Select(r => r.Label).ToArray());
        }
        finally
        {
            File.Delete(path);
        }
    }
}
