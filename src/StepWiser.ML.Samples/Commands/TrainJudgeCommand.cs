using System.CommandLine;
using System.Globalization;
using Microsoft.ML;
using StepWiser.ML.Annotation;
using StepWiser.ML.Data;
using StepWiser.ML.Judging;
using StepWiser.ML.Models;
using StepWiser.ML.Tokenization;
using StepWiser.ML.Training;

namespace StepWiser.ML.Samples.Commands;

/// <summary>
/// <c>train-judge</c>: trains a StepWiser judge from labelled steps in TRL's stepwise-supervision JSONL (what
/// <c>annotate --trl</c> writes) with the library's judge recipe as far as it goes for any model: the steps of each
/// solution up to its first negative one (<see cref="JudgeRecipe.SelectSteps"/>), a verdict warm-up on them
/// (<see cref="JudgeRecipe.WarmUp"/>; the boxed verdict alone, or after the policy's own re-derivation of the step with
/// <c>--analysis rederivation</c>), then GRPO (<see cref="StepwiseJudgeTrainer"/>) with the paper's settings by default.
/// Saves a judge folder (Hugging Face layout + manifest) that <c>evaluate</c> and <see cref="StepwiseJudgeTransformer.Load(string, TorchSharp.torch.Device?, JudgeTemplate?, Func{StepwiseJudgeOptions, StepwiseJudgeOptions}?, TorchSharp.torch.ScalarType)"/> read.
/// </summary>
internal static class TrainJudgeCommand
{
    /// <summary>The metrics CSV a run with --checkpoints writes in that folder (a resumed run appends to it).</summary>
    private const string WorkingMetricsFile = "grpo-metrics.csv";

    public static Command Create()
    {
        var o = new TrainJudgeOptions();
        var command = new Command("train-judge", "Train a StepWiser judge on labelled steps (TRL stepwise JSONL): steps up to the first negative, a verdict warm-up, then GRPO with the paper's settings.");
        foreach (var option in o.All) command.Options.Add(option);
        command.SetAction(parse =>
        {
            var inputFile = parse.GetValue(o.Input)!;
            if (!inputFile.Exists) return Cli.Fail($"train-judge: input file {inputFile.FullName} does not exist.");
            var baseDir = parse.GetValue(o.Base)!;
            if (!File.Exists(Path.Combine(baseDir.FullName, "config.json"))) return Cli.Fail($"train-judge: {baseDir.FullName} is not a Hugging Face checkpoint (no config.json).");
            if (!File.Exists(Path.Combine(baseDir.FullName, "tokenizer.json"))) return Cli.Fail($"train-judge: {baseDir.FullName} has no tokenizer.json.");
            // Options, output paths and the input are all checked before the model is loaded.
            var recipe = o.Check(parse);
            var torchDevice = Cli.Device(parse.GetValue(o.Device)!);
            var torchDtype = Cli.DType(parse.GetValue(o.DType)!);
            var precision = PlanCommand.Precision(parse.GetValue(o.Optimizer)!);
            var autoMicro = parse.GetValue(o.MicroBatch) is "auto";
            int? micro = autoMicro || parse.GetValue(o.MicroBatch) is null ? null : MicroBatch(parse.GetValue(o.MicroBatch)!);
            var limit = parse.GetValue(o.Memory) is { } gib ? PlanCommand.Bytes("--memory", gib)
                : torchDevice.type == TorchSharp.DeviceType.CPU ? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes : (long?)null;
            var outputFolder = parse.GetValue(o.Output)!.FullName.TrimEnd(Path.DirectorySeparatorChar);
            var csv = parse.GetValue(o.Log)?.FullName ?? outputFolder + ".grpo.csv";
            var checkpointDir = parse.GetValue(o.Checkpoints)?.FullName;
            // No output may overwrite an input (the labelled steps, the base checkpoint) or another output.
            var guard = new PathGuard().InputFile("--input", inputFile.FullName).InputFolder("--base", baseDir.FullName).OutputFolder("--output", outputFolder);
            var logOption = parse.GetValue(o.Log) is null ? "--log (default)" : "--log";
            guard.OutputFile(logOption, csv);
            if (checkpointDir is not null) guard.OutputFolder("--checkpoints", checkpointDir);
            guard.Check();
            Cli.CheckOutputFolder("--output", outputFolder);
            if (Directory.Exists(outputFolder) && Directory.EnumerateFileSystemEntries(outputFolder).Any() && !parse.GetValue(o.Overwrite))
                return Cli.Fail($"train-judge: --output {outputFolder} exists and is not empty; give a new folder or --overwrite.");
            Cli.CheckOutputFile(logOption, csv);
            if (checkpointDir is not null) Cli.CheckOutputFolder("--checkpoints", checkpointDir);
            var solutions = TrlStepwiseFormat.Read(inputFile.FullName);
            if (solutions.Count == 0) return Cli.Fail($"train-judge: {inputFile.FullName} holds no records (empty or blank lines only).");
            var all = solutions.Sum(s => s.Completions.Count);
            var selected = solutions.Select((s, i) => (Record: i + 1, Steps: JudgeExample.FromSolution(s.Prompt, s.Completions, s.Labels, recipe.StepSelection).ToArray())).ToArray();
            var examples = selected.SelectMany(s => s.Steps).ToArray();
            var positives = examples.Count(e => e.Label);
            if (positives == 0 || positives == examples.Length)
                return Cli.Fail($"train-judge: {inputFile.FullName} has {examples.Length} labelled steps{(examples.Length < all ? $" up to each solution's first negative one (of {all})" : "")}, all {(positives == 0 ? "negative" : "positive")}; a judge needs both classes.");
            var judgeTemplate = ChooseTemplate(parse.GetValue(o.Template)!, baseDir.FullName);
            var analysis = parse.GetValue(o.Analysis)!;
            var policyPrompt = analysis == TrainJudgeOptions.Rederivation ? AnalysisPrompt(parse.GetValue(o.PromptFormat)!, baseDir.FullName) : null;
            JudgeLengths.Check(inputFile.FullName, selected, judgeTemplate, baseDir.FullName, recipe.MaxSequenceLength, recipe.Grpo.MaxNewTokens, recipe.WarmupSteps > 0);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{examples.Length} labelled steps ({StepSelectionName(recipe.StepSelection)}, of {all}) from {solutions.Count} solutions ({100.0 * positives / examples.Length:F1} % positive); template {judgeTemplate.Name}"));
            // The memory plan, from config.json and the tokenized prompts, before the model is loaded.
            var planOptions = new MemoryPlanOptions
            {
                Task = MemoryTask.Grpo, BatchSize = Math.Min(micro ?? recipe.Grpo.MiniBatchSize, recipe.Grpo.MiniBatchSize), ResponseLength = recipe.Grpo.MaxNewTokens,
                PromptLength = LongestPrompt(Path.Combine(baseDir.FullName, "tokenizer.json"), judgeTemplate, examples), DType = torchDtype, Precision = precision,
                ActivationCheckpointing = parse.GetValue(o.Checkpointing), KlReference = recipe.Grpo.KlCoefficient > 0,
                GenerationBatchRows = parse.GetValue(o.GenerationRows), GroupSize = recipe.Grpo.GroupSize,
            };
            micro = CheckPlan(HuggingFaceCheckpoint.LoadConfig(baseDir.FullName), planOptions, limit, autoMicro, micro);

            // Metrics go to a working file, never to the CSV of an earlier run: beside the CSV (removed if the run fails),
            // or in the checkpoint folder when there is one, so that a resumed run appends to its own earlier steps. The
            // CSV is replaced only once the judge is saved; the judge folder is written beside --output and swapped in
            // whole (a killed run leaves the earlier judge and CSV as they were).
            var workingCsv = checkpointDir is null ? AtomicFile.TemporaryPath(csv) : Path.Combine(checkpointDir, WorkingMetricsFile);
            if (checkpointDir is not null) Directory.CreateDirectory(checkpointDir);
            try
            {
                var model = ModelBundle.Load(baseDir.FullName, torchDevice, torchDtype);
                Console.Error.WriteLine($"base loaded on {model.Device} in {model.Model.DType}");
                try
                {
                    var warmUp = new JudgeWarmUpRun(recipe, judgeTemplate, analysis, policyPrompt, HuggingFaceCheckpoint.Fingerprint(baseDir.FullName), inputFile.FullName);
                    model = warmUp.Run(model, examples, checkpointDir, torchDevice, torchDtype);
                }
                catch
                {
                    model.Dispose();
                    throw;
                }
                var ml = new MLContext(seed: recipe.Seed);
                var total = recipe.Grpo.Steps;
                var trainer = ml.StepWiser().Trainers.StepwiseJudge(new StepwiseJudgeTrainerOptions
                {
                    Model = model,
                    TrainInPlace = true,   // a real checkpoint is not held twice: the judge takes these weights over
                    Template = judgeTemplate,
                    Judge = new StepwiseJudgeOptions { MaxNewTokens = recipe.Grpo.MaxNewTokens },
                    Grpo = recipe.Grpo with
                    {
                        LogCsvPath = workingCsv, CheckpointDirectory = checkpointDir, MicroBatchSize = micro, ActivationCheckpointing = parse.GetValue(o.Checkpointing),
                        Precision = precision, GenerationBatchRows = parse.GetValue(o.GenerationRows), MemoryLimitBytes = limit,
                    },
                    Progress = new Progress<GrpoStepMetrics>(m => Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  step {m.Step}/{total}: reward {m.MeanReward:F3} (+ {Cli.Num(m.RewardPositive, "F2")} / − {Cli.Num(m.RewardNegative, "F2")}), entropy {(double.IsNaN(m.Entropy) ? "n/a (no group with mixed rewards: no update)" : Cli.Num(m.Entropy))}, length {m.ResponseLength:F0}, clipped {m.ClipFraction:P1}"))),
                    Metadata = new Dictionary<string, string>
                    {
                        ["training_data"] = inputFile.Name, ["base_model"] = baseDir.Name, ["step_selection"] = StepSelectionName(recipe.StepSelection),
                        ["warmup_steps"] = recipe.WarmupSteps.ToString(CultureInfo.InvariantCulture), ["warmup_learning_rate"] = recipe.WarmupLearningRate.ToString(CultureInfo.InvariantCulture),
                        ["analysis"] = analysis, ["dtype"] = model.Model.DType.ToString(),
                    },
                });
                using var judge = trainer.Fit(StepwiseJudgeTrainer.ToDataView(ml, examples));
                AtomicFolder.Write(outputFolder, judge.Save);
                if (checkpointDir is null) AtomicFile.Commit(workingCsv, csv);
                else AtomicFile.Write(csv, stream => { using var from = File.OpenRead(workingCsv); from.CopyTo(stream); });
                var metrics = trainer.LastMetrics;
                Console.WriteLine(metrics.Count == 0
                    ? $"saved the judge to {outputFolder} (GRPO had finished in the checkpoints); metrics in {csv}"
                    : string.Create(CultureInfo.InvariantCulture,
                        $"saved the judge to {outputFolder}; reward {metrics.Take(5).Average(m => m.MeanReward):F3} (first 5 steps) → {metrics.TakeLast(5).Average(m => m.MeanReward):F3} (last 5); metrics in {csv}"));
            }
            finally
            {
                if (checkpointDir is null) File.Delete(workingCsv);
            }
            return 0;
        });
        return command;
    }

    private static int MicroBatch(string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 1 ? n
            : throw new CliException($"--micro-batch must be a whole number of at least 1, or auto (got '{value}')");

    /// <summary>Tokens of the longest judge prompt over the labelled steps, with the base checkpoint's tokenizer.</summary>
    private static int LongestPrompt(string tokenizerPath, JudgeTemplate template, IReadOnlyList<JudgeExample> examples)
    {
        var tokenizer = HuggingFaceTokenizer.Load(tokenizerPath);
        return examples.Max(e => tokenizer.CountTokens(template.Render(e.Input)));
    }

    /// <summary>
    /// Prints the memory plan's peak and refuses, in one line naming its largest part and the micro-batch that would fit,
    /// a run over <paramref name="limit"/>; with --micro-batch auto returns the largest micro-batch that fits.
    /// </summary>
    private static int? CheckPlan(ModelConfig config, MemoryPlanOptions options, long? limit, bool auto, int? micro)
    {
        var plan = MemoryPlan.For(config, options);
        if (limit is not { } bytes)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"memory plan: peak {plan.PeakBytes / PlanCommand.GiB:F2} GiB (micro-batch {options.BatchSize}; not checked: give --memory)"));
            return auto ? options.BatchSize : micro;
        }
        var fitting = plan.Fits(bytes) ? options.BatchSize : MemoryPlan.LargestBatch(config, options, bytes, options.BatchSize);
        if (fitting == 0 || (fitting < options.BatchSize && !auto))
            throw new CliException($"train-judge: {plan.Refusal(bytes, fitting)}{(fitting > 0 ? $" (--micro-batch {fitting}, or --micro-batch auto)" : "")}.");
        var chosen = fitting == options.BatchSize ? plan : MemoryPlan.For(config, options.WithBatchSize(fitting));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"memory plan: peak {chosen.PeakBytes / PlanCommand.GiB:F2} GiB of {bytes / PlanCommand.GiB:F2} GiB, micro-batch {fitting}, largest part {chosen.LargestPart.Name} ({chosen.LargestPart.Bytes / PlanCommand.GiB:F2} GiB)"));
        return auto ? fitting : micro;
    }

    private static string StepSelectionName(StepSelection selection) => selection == StepSelection.AllSteps ? TrainJudgeOptions.AllSteps : TrainJudgeOptions.UpToFirstNegative;

    private static JudgeTemplate ChooseTemplate(string name, string checkpoint)
    {
        switch (name)
        {
            case "compact": return JudgeTemplate.Compact;
            case "auto": return JudgeTemplate.ForCheckpoint(checkpoint);
            case "chat":
                // Unlike auto, an explicit --template chat fails when the checkpoint has no usable chat template.
                var config = Path.Combine(checkpoint, "tokenizer_config.json");
                if (!File.Exists(config)) throw new CliException($"train-judge: --template chat needs a tokenizer_config.json with a chat template in {checkpoint}.");
                try { return JudgeTemplate.Chat(ChatTemplate.FromTokenizerConfig(config)); }
                catch (Exception e) when (e is InvalidDataException or NotSupportedException) { throw new CliException($"train-judge: --template chat but {config}: {e.Message}"); }
            default:
                throw new CliException($"train-judge: unknown --template '{name}' (auto, compact or chat).");
        }
    }

    /// <summary>How the base, as the policy, is prompted to re-derive a step: its own chat template, or raw for a base model.</summary>
    private static PolicyPrompt AnalysisPrompt(string format, string checkpoint)
    {
        if (format == PolicyPrompt.RawFormat) return PolicyPrompt.Raw;
        if (format != PolicyPrompt.ChatFormat) throw new CliException($"train-judge: unknown --prompt-format '{format}' (chat or raw).");
        var config = Path.Combine(checkpoint, "tokenizer_config.json");
        try
        {
            if (File.Exists(config)) return PolicyPrompt.Chat(ChatTemplate.FromTokenizerConfig(config));
        }
        catch (Exception e) when (e is InvalidDataException or NotSupportedException or System.Text.Json.JsonException)
        {
            throw new CliException($"train-judge: --analysis rederivation prompts --base in its chat template, but {config}: {e.Message} Give --prompt-format raw for a base model.");
        }
        throw new CliException($"train-judge: --analysis rederivation prompts --base in its chat template, but {checkpoint} has no tokenizer_config.json; give --prompt-format raw for a base model.");
    }
}
