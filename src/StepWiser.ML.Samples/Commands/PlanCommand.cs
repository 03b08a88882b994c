using System.CommandLine;
using System.Globalization;
using StepWiser.ML.Models;
using StepWiser.ML.Training;

namespace StepWiser.ML.Samples.Commands;

/// <summary>
/// <c>plan</c>: prints the <see cref="MemoryPlan"/> of a training or generation run for a model's <c>config.json</c> (or a
/// checkpoint folder holding one), before anything is loaded: the predicted peak by part, and with <c>--memory</c>
/// whether it fits and the largest micro-batch that does. Nothing is allocated and no weights are read.
/// </summary>
internal static class PlanCommand
{
    /// <summary>Bytes in a GiB, the unit of <c>--memory</c> and of the plan's table.</summary>
    public const double GiB = 1024.0 * 1024 * 1024;

    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "A config.json, or a checkpoint folder holding one (no weights are read).", Required = true };
        var task = new Option<string>("--task") { Description = "grpo (generation, then updates), sft or inference.", DefaultValueFactory = _ => "grpo" };
        var micro = new Option<int>("--micro-batch") { Description = "Sequences per forward/backward pass (training), rows decoded at once (inference).", DefaultValueFactory = _ => 1 };
        var prompt = new Option<int>("--prompt-tokens") { Description = "Tokens of the longest prompt.", DefaultValueFactory = _ => 1024 };
        var response = new Option<int>("--response-tokens") { Description = "Tokens of the longest response (trained on, or generated).", DefaultValueFactory = _ => 1024 };
        var dtype = new Option<string>("--dtype") { Description = "Weight type: bf16, fp16 or fp32.", DefaultValueFactory = _ => "bf16" };
        var optimizer = new Option<string>("--optimizer") { Description = "AdamW's state for 16-bit weights: master (float32 master weights and moments, 12 bytes a parameter), split (the master split in two halves, bfloat16 moments, 6 bytes) or plain (no master: small updates are lost).", DefaultValueFactory = _ => "master" };
        var checkpointing = new Option<bool>("--checkpointing") { Description = "Activation checkpointing: recompute each layer's activations in the backward pass." };
        var kl = new Option<bool>("--kl") { Description = "GRPO: hold a KL reference model." };
        var rows = new Option<int>("--generation-rows") { Description = "GRPO: responses sampled at once.", DefaultValueFactory = _ => 64 };
        var group = new Option<int>("--group-size") { Description = "GRPO: responses per prompt.", DefaultValueFactory = _ => 4 };
        var memory = new Option<double?>("--memory") { Description = "Memory to fit, in GiB: prints whether the plan fits and the largest micro-batch that does." };
        var maxMicro = new Option<int>("--max-micro-batch") { Description = "The largest micro-batch --memory looks for (the mini-batch).", DefaultValueFactory = _ => 256 };
        var command = new Command("plan", "Print the memory plan of a training or generation run for a model config, before anything is allocated.")
        {
            model, task, micro, prompt, response, dtype, optimizer, checkpointing, kl, rows, group, memory, maxMicro,
        };
        command.SetAction(parse =>
        {
            var config = LoadConfig("plan", parse.GetValue(model)!);
            Cli.AtLeast("--micro-batch", parse.GetValue(micro), 1);
            Cli.AtLeast("--prompt-tokens", parse.GetValue(prompt), 1);
            Cli.AtLeast("--response-tokens", parse.GetValue(response), 1);
            Cli.AtLeast("--generation-rows", parse.GetValue(rows), 1);
            Cli.AtLeast("--group-size", parse.GetValue(group), 1);
            Cli.AtLeast("--max-micro-batch", parse.GetValue(maxMicro), 1);
            var budget = parse.GetValue(memory) is { } gib ? Bytes("--memory", gib) : (long?)null;
            var options = new MemoryPlanOptions
            {
                Task = Task(parse.GetValue(task)!), BatchSize = parse.GetValue(micro), PromptLength = parse.GetValue(prompt), ResponseLength = parse.GetValue(response),
                DType = Cli.DType(parse.GetValue(dtype)!), Precision = Precision(parse.GetValue(optimizer)!), ActivationCheckpointing = parse.GetValue(checkpointing),
                KlReference = parse.GetValue(kl), GenerationBatchRows = parse.GetValue(rows), GroupSize = parse.GetValue(group),
            };
            var plan = MemoryPlan.For(config, options);
            Console.WriteLine(plan.Describe());
            if (budget is { } limit)
            {
                var largest = MemoryPlan.LargestBatch(config, options, limit, parse.GetValue(maxMicro));
                var what = options.Task == MemoryTask.Inference ? "rows" : "micro-batch";
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"in {limit / GiB:0.##} GiB: {(plan.Fits(limit) ? "fits" : "does not fit")}; the largest {what} that fits (at most {parse.GetValue(maxMicro)}): {(largest == 0 ? "none" : largest.ToString(CultureInfo.InvariantCulture))}"));
            }
            return 0;
        });
        return command;
    }

    /// <summary>The configuration of <paramref name="path"/>: a config.json file, or a folder holding one.</summary>
    public static ModelConfig LoadConfig(string command, string path)
    {
        var file = Directory.Exists(path) ? Path.Combine(path, "config.json") : path;
        if (!File.Exists(file))
            throw new CliException(Directory.Exists(path) ? $"{command}: {Path.GetFullPath(path)} holds no config.json." : $"{command}: --model {path}: no such file or folder.");
        return ModelConfig.Load(file);
    }

    /// <summary>A size in GiB as bytes; a positive finite number or a one-line error naming the option.</summary>
    public static long Bytes(string option, double gib)
    {
        Cli.InRange(option, gib, 0, double.PositiveInfinity, minExclusive: true);
        if (gib * GiB >= long.MaxValue) throw new CliException($"{option} {gib.ToString(CultureInfo.InvariantCulture)}: too large");
        return (long)(gib * GiB);
    }

    /// <summary>The optimizer precision named on the command line.</summary>
    public static OptimizerPrecision Precision(string name) => name.ToLowerInvariant() switch
    {
        "master" => OptimizerPrecision.MasterWeights,
        "split" => OptimizerPrecision.SplitMasterWeights,
        "plain" => OptimizerPrecision.ParameterType,
        _ => throw new CliException($"--optimizer: unknown '{name}'; use master, split or plain"),
    };

    private static MemoryTask Task(string name) => name.ToLowerInvariant() switch
    {
        "grpo" => MemoryTask.Grpo,
        "sft" => MemoryTask.Sft,
        "inference" => MemoryTask.Inference,
        _ => throw new CliException($"--task: unknown '{name}'; use grpo, sft or inference"),
    };
}
