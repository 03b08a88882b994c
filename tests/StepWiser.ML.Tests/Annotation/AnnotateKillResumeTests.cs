using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using StepWiser.ML.Annotation;
using StepWiser.ML.Tests.Infrastructure;

namespace StepWiser.ML.Tests.Annotation;

/// <summary>
/// The samples app's <c>annotate</c> command in a child process, killed with SIGKILL in the middle of its work and
/// started again: it resumes from the rollout store and writes exactly what an uninterrupted run writes.
/// </summary>
[TestClass]
public sealed class AnnotateKillResumeTests
{
    private static readonly string SamplesDll = typeof(StepWiser.ML.Samples.Commands.Cli).Assembly.Location;

    [TestMethod]
    [TestCategory("Slow")]
    public void AKilledRunResumesWithoutLosingOrRepeatingRolloutsAndGivesTheSameLabels()
    {
        var dir = Directory.CreateTempSubdirectory("annotate-kill").FullName;
        try
        {
            var input = Path.Combine(dir, "in.jsonl");
            File.WriteAllLines(input, WorldPolicyFixture.World.Generate("kill", 16, 2).Select(p => new JsonObject
            {
                ["prompt"] = p.Prompt,
                ["solution"] = p.ChunkedSolution,
                ["answer"] = p.AnswerText,
            }.ToJsonString()));

            var (_, fullOut) = Run(input, Path.Combine(dir, "storeA"), Path.Combine(dir, "a.jsonl"), killAfterRecords: null);
            var fullSampled = Sampled(fullOut);

            var storeB = Path.Combine(dir, "storeB");
            var (killed, _) = Run(input, storeB, Path.Combine(dir, "b.jsonl"), killAfterRecords: 8);
            Assert.IsTrue(killed, "the first run was killed before it finished");
            Assert.IsFalse(File.Exists(Path.Combine(dir, "b.jsonl")));
            var recordsBefore = File.ReadAllLines(Directory.GetFiles(storeB, "*" + RolloutStore.Extension).Single()).Length;

            var (_, resumedOut) = Run(input, storeB, Path.Combine(dir, "b.jsonl"), killAfterRecords: null);
            var resumedSampled = Sampled(resumedOut);
            CollectionAssert.AreEqual(File.ReadAllLines(Path.Combine(dir, "a.jsonl")), File.ReadAllLines(Path.Combine(dir, "b.jsonl")), "same values and labels as the uninterrupted run");
            Assert.IsGreaterThanOrEqualTo(8, recordsBefore);
            Assert.AreEqual(fullSampled, resumedSampled + recordsBefore * 8L, "the restart samples exactly the prefixes the killed run had not stored");
            Assert.AreEqual(File.ReadAllLines(Directory.GetFiles(Path.Combine(dir, "storeA"), "*" + RolloutStore.Extension).Single()).Length,
                File.ReadAllLines(Directory.GetFiles(storeB, "*" + RolloutStore.Extension).Single()).Length, "no prefix stored twice");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static long Sampled(string stdout)
    {
        var marker = "sampled ";
        var start = stdout.IndexOf(marker, StringComparison.Ordinal) + marker.Length;
        return long.Parse(stdout[start..].Split(' ')[0], NumberStyles.AllowThousands, CultureInfo.InvariantCulture);
    }

    private static (bool Killed, string Stdout) Run(string input, string store, string output, int? killAfterRecords)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList =
            {
                SamplesDll, "annotate", "--input", input, "--output", output, "--policy", WorldPolicyFixture.Directory, "--prompt-format", "raw", "--store", store,
                "--rollouts", "8", "--max-new-tokens", "80", "--batch-size", "1", "--seed", "5",
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        var killed = false;
        if (killAfterRecords is { } records)
        {
            var file = Path.Combine(store, "main" + RolloutStore.Extension);
            var clock = Stopwatch.StartNew();
            while (!process.HasExited && clock.Elapsed < TimeSpan.FromMinutes(3))
            {
                if (File.Exists(file) && File.ReadAllLines(file).Length >= records)
                {
                    process.Kill(entireProcessTree: true); // SIGKILL: no chance to clean up
                    killed = true;
                    break;
                }
                Thread.Sleep(20);
            }
        }
        if (!process.WaitForExit(TimeSpan.FromMinutes(5))) { process.Kill(true); Assert.Fail("annotate did not finish"); }
        if (!killed) Assert.AreEqual(0, process.ExitCode, stderr.Result);
        return (killed, stdout.Result);
    }
}
