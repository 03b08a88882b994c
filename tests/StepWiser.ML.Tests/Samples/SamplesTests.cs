using System.Diagnostics;
using StepWiser.ML.Annotation;
using StepWiser.ML.Judging;
using StepWiser.ML.Samples.Commands;
using StepWiser.ML.Samples.Reporting;
using StepWiser.ML.Samples.Stages;
using StepWiser.ML.Tests.Infrastructure;

namespace StepWiser.ML.Tests.Samples;

/// <summary>The copyable stage samples, the train-judge command and the main job's smoke preset run end to end.</summary>
[TestClass]
public sealed class SamplesTests
{
    [TestMethod]
    public void ChunkSampleMergesRawLinesIntoFewerLogicalChunks()
    {
        var log = new StringWriter();
        var (raw, tagged) = ChunkSample.Run(log);
        Assert.IsGreaterThan(tagged * 1.3, raw, $"raw {raw:F2} vs tagged {tagged:F2}");
        StringAssert.Contains(log.ToString(), "chunk 1:");
    }

    [TestMethod]
    public async Task EveryStageSampleRunsAndTrainJudgeCommandTrainsFromItsLabels()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"stepwiser-samples-{Guid.NewGuid():N}");
        try
        {
            var log = new StringWriter();
            await SamplesCommand.RunAllAsync(dir, log, WorldPolicyFixture.Directory);
            var text = log.ToString();
            foreach (var header in new[] { "1. chunk", "2. annotate", "3. train the judge", "4. evaluate", "5. chunk-reset search", "6. data selection" })
                StringAssert.Contains(text, header);
            StringAssert.Contains(text, "Avg.");                      // the ProcessBench table printed by the evaluate sample
            StringAssert.Contains(text, "with chunk-reset");
            var labels = TrlStepwiseFormat.Read(Path.Combine(dir, "labels.jsonl"));
            Assert.IsNotEmpty(labels);
            Assert.IsTrue(labels.SelectMany(l => l.Labels).Distinct().Count() == 2, "both classes among the Monte-Carlo labels");
            using (var judge = StepwiseJudgeTransformer.Load(Path.Combine(dir, "judge"))) Assert.AreEqual("compact", judge.Judge.Template.Name);

            // The same labels through the command line: a judge folder, a metrics CSV, and a clear error for bad input.
            var cli = Run($"train-judge --input \"{Path.Combine(dir, "labels.jsonl")}\" --base \"{WorldPolicyFixture.Directory}\" --output \"{Path.Combine(dir, "cli-judge")}\" --steps 2 --prompts-per-step 4 --max-new-tokens 48 --lr 5e-4");
            Assert.AreEqual(0, cli.ExitCode, cli.Output);
            StringAssert.Contains(cli.Output, "template compact");
            Assert.IsTrue(File.Exists(Path.Combine(dir, "cli-judge", "stepwiser-judge.json")));
            Assert.HasCount(3, File.ReadAllLines(Path.Combine(dir, "cli-judge.grpo.csv")), "header and two steps");
            var bad = Path.Combine(dir, "bad.jsonl");
            File.WriteAllText(bad, "{\"prompt\": \"p\", \"completions\": [\"a\"], \"labels\": [true]}\nnot json\n");
            var failed = Run($"train-judge --input \"{bad}\" --base \"{WorldPolicyFixture.Directory}\" --output \"{Path.Combine(dir, "x")}\"");
            Assert.AreNotEqual(0, failed.ExitCode);
            StringAssert.Contains(failed.Output, "bad.jsonl:2");
            Assert.DoesNotContain("   at ", failed.Output);
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    [TestMethod]
    public async Task MainJobSmokePresetWritesTablesPlotsLabelsAndReport()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"stepwiser-main-{Guid.NewGuid():N}");
        try
        {
            var code = await MainJob.RunAsync(dir, MainJobPreset.Get("smoke"), CancellationToken.None, new StageConsole(interactive: false));
            Assert.AreEqual(0, code);
            var report = File.ReadAllText(Path.Combine(dir, "report.md"));
            foreach (var section in new[] { "## Monte-Carlo labels", "## Evaluation", "## Chunk-reset search", "## Data selection", "## GRPO curves" })
                StringAssert.Contains(report, section);
            foreach (var png in new[] { "grpo-reward.png", "grpo-entropy.png", "judge-accuracy-by-step.png", "search-accuracy-vs-tokens.png" })
            {
                var bytes = File.ReadAllBytes(Path.Combine(dir, png));
                CollectionAssert.AreEqual(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes.Take(4).ToArray(), png);
                Assert.IsGreaterThan(5000, bytes.Length, $"{png} has content");
            }
            // Nine judges: the two-pass warm-up judge, two-pass RL on the three label schemes, the one-pass RL judges with the
            // world analysis and with the re-derivation analysis, and the two-pass discriminative baseline per scheme;
            // search compares the policy alone with the judge chosen on held-out Monte-Carlo labels (one judge seed). Each
            // judge also has a calibrated row when its scheme's held-out solutions hold both right and wrong ones (tiny runs may not).
            var rows = File.ReadAllLines(Path.Combine(dir, "step-accuracy.csv")).Skip(1).Select(l => l.Split("\",")[0].Trim('"')).ToArray();
            var own = rows.Where(r => !r.EndsWith(", calibrated", StringComparison.Ordinal)).ToArray();
            Assert.HasCount(9, own);
            foreach (var calibrated in rows.Except(own)) CollectionAssert.Contains(own, calibrated[..^", calibrated".Length]);
            Assert.HasCount(3, File.ReadAllLines(Path.Combine(dir, "search.csv")), "header, policy alone and the chosen judge");
            StringAssert.Contains(report, "## Judges: what each learned from");
            StringAssert.Contains(report, "Smoke preset");
            foreach (var scheme in new[] { "absoluteq", "relativeratio", "relativeeffective" })
                Assert.IsNotEmpty(TrlStepwiseFormat.Read(Path.Combine(dir, $"labels-{scheme}.jsonl")));
            Assert.IsTrue(File.Exists(Path.Combine(dir, "judge-stepwiser-rl-abs-q", "model.safetensors")));
            // The two-pass judges' first pass is saved beside them and named in their manifests.
            Assert.IsTrue(File.Exists(Path.Combine(dir, "judge-reference-writer", "model.safetensors")));
            StringAssert.Contains(File.ReadAllText(Path.Combine(dir, "judge-stepwiser-rl-abs-q", "stepwiser-judge.json")), "reference_writer");
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    private static (int ExitCode, string Output) Run(string arguments)
    {
        var start = new ProcessStartInfo("dotnet", $"\"{typeof(StepWiser.ML.Samples.Commands.Cli).Assembly.Location}\" {arguments}") { RedirectStandardError = true, RedirectStandardOutput = true };
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout + stderr.Result);
    }
}
