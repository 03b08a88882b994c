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
    [TestCategory("Slow")]
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
    [TestCategory("Slow")]
    public async Task MainJobSmokePresetWritesTablesPlotsLabelsAndReport()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"stepwiser-main-{Guid.NewGuid():N}");
        var rerun = dir + "-rerun";
        try
        {
            var code = await MainJob.RunAsync(dir, MainJobPreset.Get("smoke"), CancellationToken.None, new StageConsole(interactive: false));
            Assert.AreEqual(0, code);
            var report = File.ReadAllText(Path.Combine(dir, "report.md"));
            foreach (var section in new[] { "## The world", "## Monte-Carlo labels", "## Judges: what each learned from", "## Judges on the test benchmark", "## Chunk-reset search", "## Data selection", "## GRPO curves" })
                StringAssert.Contains(report, section);
            StringAssert.Contains(report, "Smoke preset");
            foreach (var png in new[] { "grpo-reward.png", "grpo-entropy.png", "search-accuracy-vs-tokens.png" })
            {
                var bytes = File.ReadAllBytes(Path.Combine(dir, "results", png));
                CollectionAssert.AreEqual(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes.Take(4).ToArray(), png);
                Assert.IsGreaterThan(5000, bytes.Length, $"{png} has content");
            }
            // The StepWiser judge after its warm-up and after GRPO for each scheme whose labels hold both classes, then on the
            // scheme chosen on the dev benchmark: RS-FT, no-CoT RL, discriminative SFT; the policy-as-writer diff, the
            // oracle-writer upper bound and always-Positive.
            var rows = File.ReadAllLines(Path.Combine(dir, "results", "step-accuracy.csv")).Skip(1).Select(l => l.Split("\",")[0].Trim('"')).ToArray();
            var schemes = rows.Count(r => r.StartsWith("StepWiser RL, ", StringComparison.Ordinal));
            Assert.IsTrue(schemes is >= 1 and <= 3, string.Join(" | ", rows));
            Assert.HasCount(2 * schemes + 6, rows, string.Join(" | ", rows));
            foreach (var row in new[] { "policy-as-writer diff (two-pass)", "upper bound: oracle-writer diff (a stronger solver)", "always Positive" }) CollectionAssert.Contains(rows, row);
            Assert.HasCount(4, File.ReadAllLines(Path.Combine(dir, "results", "search.csv")), "header, policy alone, the search and the majority vote at the same tokens");
            Assert.HasCount(1 + 3 * MainJobPreset.Get("smoke").FineTuneSeeds, File.ReadAllLines(Path.Combine(dir, "results", "selection.csv")), "three pick sets × fine-tuning seeds");
            foreach (var scheme in new[] { "absoluteq", "relativeratio", "relativeeffective" })
                Assert.IsNotEmpty(TrlStepwiseFormat.Read(Path.Combine(dir, $"labels-{scheme}.jsonl")));
            Assert.IsTrue(File.Exists(Path.Combine(dir, "judge-stepwiser-rl-abs-q", "model.safetensors")) || schemes < 3);
            // claims.json: written by the run, every key the issue names (null where a smoke run leaves one undefined).
            var claims = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "claims.json"))).RootElement;
            foreach (var key in new[] { "stepwiser_rl_f1", "stepwiser_rl_f1_sd", "warmup_f1", "rsft_f1", "nocot_rl_f1", "discriminative_f1", "policy_writer_diff_f1", "oracle_writer_f1",
                "rl_minus_warmup_min_seed", "balanced_gold", "search_accuracy", "policy_accuracy", "majority_vote_same_tokens_accuracy", "search_tokens_per_problem",
                "selection_judge", "selection_outcome", "selection_random", "picks_differ_share", "flawed_correct_share", "distinct_correct_share", "seeds" })
                Assert.IsTrue(claims.TryGetProperty(key, out _), $"claims.json lacks {key}");
            // Where the headline judge's verdicts come from: its turn 1 at the test benchmark's first errors and right steps
            // (counts of those steps, never more).
            StringAssert.Contains(report, "**Where the headline judge's verdicts come from**");
            var probed = claims.GetProperty("probe_first_errors").GetDouble();
            Assert.IsGreaterThan(0, probed);
            foreach (var key in new[] { "probe_claimed", "probe_rejected" })
                Assert.IsLessThanOrEqualTo(probed, claims.GetProperty(key).GetDouble(), key);
            Assert.IsLessThanOrEqualTo(claims.GetProperty("probe_claimed").GetDouble(), claims.GetProperty("probe_own_result_differs").GetDouble());
            Assert.IsLessThanOrEqualTo(claims.GetProperty("probe_right_claimed").GetDouble(), claims.GetProperty("probe_right_own_result_differs").GetDouble());
            Assert.AreEqual(File.ReadAllText(Path.Combine(dir, "claims.json")), File.ReadAllText(Path.Combine(dir, "results", "claims.json")));
            Assert.DoesNotContain("Total time", report, "the report holds no times (they are in timings.md), so a rerun writes the same file");
            StringAssert.Contains(File.ReadAllText(Path.Combine(dir, "timings.md")), "analysis stage");

            // What docs/results.md and docs/results/ publish is what the run writes, byte for byte: a second run from
            // nothing (its own policy, rollouts and judges) writes the same report, tables and summary.
            var code2 = await MainJob.RunAsync(rerun, MainJobPreset.Get("smoke"), CancellationToken.None, new StageConsole(interactive: false));
            Assert.AreEqual(0, code2);
            foreach (var file in new[] { "report.md", "claims.json" }.Concat(Directory.GetFiles(Path.Combine(dir, "results"), "*.*").Where(f => f.EndsWith(".csv", StringComparison.Ordinal) || f.EndsWith(".md", StringComparison.Ordinal)).Select(f => Path.Combine("results", Path.GetFileName(f)))))
                Assert.AreEqual(File.ReadAllText(Path.Combine(dir, file)), File.ReadAllText(Path.Combine(rerun, file)), $"{file} differs between two runs of the same preset");
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
            try { Directory.Delete(rerun, recursive: true); } catch (IOException) { }
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
