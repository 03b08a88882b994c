using System.CommandLine;
using StepWiser.ML.Generation;
using StepWiser.ML.Models;
using StepWiser.ML.Samples.Stages;
using StepWiser.ML.Tokenization;
using StepWiser.ML.Worlds;

namespace StepWiser.ML.Samples.Commands;

/// <summary>
/// <c>samples</c>: runs the six stage samples (Stages/*.cs) in order on the easiest world with a tiny policy trained
/// for a few seconds, so each sample's output can be read next to its code. The numbers are not results.
/// </summary>
internal static class SamplesCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--output") { Description = "Folder for the tiny policy, the labels and the judge.", DefaultValueFactory = _ => Path.Combine("out", "samples") };
        var command = new Command("samples", "Run the copyable stage samples (chunk, annotate, train judge, evaluate, search, select) on a tiny model.") { output };
        command.SetAction(async (parse, _) =>
        {
            await RunAllAsync(parse.GetValue(output)!, Console.Out);
            return 0;
        });
        return command;
    }

    /// <summary>Runs every stage sample; <paramref name="log"/> receives their output.</summary>
    public static async Task RunAllAsync(string output, TextWriter log, string? policyDir = null)
    {
        Directory.CreateDirectory(output);
        var world = new ArithmeticChainWorld(new ArithmeticChainOptions { Difficulty = 0 });
        policyDir ??= Path.Combine(output, "policy");
        if (!File.Exists(Path.Combine(policyDir, "config.json")))
        {
            log.WriteLine("== training a tiny policy (a few seconds) ==");
            using var trained = WorldPolicy.Train(world, new WorldPolicyOptions { Model = BuiltInModels.Tiny, Steps = 150, BatchSize = 32, LearningRate = 5e-3, TrainProblems = 4000, TargetAccuracy = null });
            HuggingFaceCheckpoint.Save(trained, policyDir);
            BuiltInTokenizer.Save(policyDir);
        }
        using var policyModel = HuggingFaceCheckpoint.Load(policyDir);
        var policy = new LocalTextGenerator(policyModel, BuiltInTokenizer.Create());

        log.WriteLine("== 1. chunk ==");
        ChunkSample.Run(log);
        log.WriteLine("== 2. annotate ==");
        var labels = Path.Combine(output, "labels.jsonl");
        await AnnotateSample.RunAsync(policy, world, labels, log);
        log.WriteLine("== 3. train the judge ==");
        var judgeDir = Path.Combine(output, "judge");
        TrainJudgeSample.Run(policyDir, labels, judgeDir, log);
        log.WriteLine("== 4. evaluate ==");
        var benchmark = Path.Combine(output, "benchmark.json");
        Evaluation.ProcessBench.Write(benchmark, await WorldBenchmark.BuildAsync(policy, [("world", world)], 24, seed: 5));
        EvaluateSample.Run(judgeDir, [benchmark], log);
        using var judge = Judging.StepwiseJudgeTransformer.Load(judgeDir);
        log.WriteLine("== 5. chunk-reset search ==");
        await SearchSample.RunAsync(policy, judge.Judge, world, log);
        log.WriteLine("== 6. data selection ==");
        SelectSample.Run(policy, judge.Judge, world, log);
    }
}
