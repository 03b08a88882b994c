using System.CommandLine;
using System.Globalization;
using Microsoft.ML;
using StepWiser.ML.Annotation;
using StepWiser.ML.Data;
using StepWiser.ML.Judging;
using StepWiser.ML.Models;
using StepWiser.ML.Tokenization;

namespace StepWiser.ML.Samples.Commands;

/// <summary>
/// <c>train-judge</c>: trains a StepWiser judge with GRPO from labelled steps in TRL's stepwise-supervision JSONL (what
/// <c>annotate --trl</c> writes) and saves it as a judge folder (Hugging Face layout + manifest) that <c>evaluate</c>
/// and <see cref="StepwiseJudgeTransformer.Load"/> read.
/// </summary>
internal static class TrainJudgeCommand
{
    /// <summary>The metrics CSV a run with --checkpoints writes in that folder (a resumed run appends to it).</summary>
    private const string WorkingMetricsFile = "grpo-metrics.csv";

    public static Command Create()
    {
        var input = new Option<FileInfo>("--input") { Description = "TRL stepwise-supervision JSONL: {\"prompt\", \"completions\": [...], \"labels\": [...]} per line.", Required = true };
        var baseModel = new Option<DirectoryInfo>("--base") { Description = "Base checkpoint (Hugging Face layout with tokenizer.json); an instruct model for real data.", Required = true };
        var output = new Option<DirectoryInfo>("--output") { Description = "Folder of the trained judge (written at the end).", Required = true };
        var template = new Option<string>("--template") { Description = "Judge prompt: auto (chat when the checkpoint has a ChatML chat template, else compact), compact, chat.", DefaultValueFactory = _ => "auto" };
        var steps = new Option<int>("--steps") { Description = "GRPO steps.", DefaultValueFactory = _ => 100 };
        var prompts = new Option<int>("--prompts-per-step") { Description = "Labelled steps sampled per GRPO step.", DefaultValueFactory = _ => 16 };
        var group = new Option<int>("--group-size") { Description = "Responses per prompt (G).", DefaultValueFactory = _ => 4 };
        var miniBatch = new Option<int>("--mini-batch") { Description = "Responses per policy update (fewer than prompts × G gives several updates per step, where clipping engages).", DefaultValueFactory = _ => 64 };
        var lr = new Option<double>("--lr") { Description = "Learning rate.", DefaultValueFactory = _ => 1e-5 };
        var maxTokens = new Option<int>("--max-new-tokens") { Description = "Longest judge response.", DefaultValueFactory = _ => 512 };
        var noBalance = new Option<bool>("--no-balance") { Description = "Sample prompts as they come instead of 50/50 positives/negatives." };
        var kl = new Option<double>("--kl") { Description = "KL coefficient to the initial model (0 = off).", DefaultValueFactory = _ => 0 };
        var log = new Option<FileInfo?>("--log") { Description = "CSV of per-step metrics (default: <output>.grpo.csv)." };
        var checkpoints = new Option<DirectoryInfo?>("--checkpoints") { Description = "Checkpoint folder; a rerun with the same folder resumes exactly." };
        var device = new Option<string>("--device") { Description = "cpu, cuda or cuda:N (needs the CUDA backend package).", DefaultValueFactory = _ => "cpu" };
        var dtype = new Option<string>("--dtype") { Description = "The weight type the judge is trained and saved in: fp32, bf16 or fp16.", DefaultValueFactory = _ => "fp32" };
        var seed = new Option<int>("--seed") { Description = "Seed of prompt sampling and generation.", DefaultValueFactory = _ => 1 };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace an existing, non-empty --output folder (otherwise refused, so no earlier judge is lost)." };
        var command = new Command("train-judge", "Train a StepWiser judge with GRPO on labelled steps (TRL stepwise JSONL).")
        {
            input, baseModel, output, template, steps, prompts, group, miniBatch, lr, maxTokens, noBalance, kl, log, checkpoints, device, dtype, seed, overwrite,
        };
        command.SetAction(parse =>
        {
            var inputFile = parse.GetValue(input)!;
            if (!inputFile.Exists) return Cli.Fail($"train-judge: input file {inputFile.FullName} does not exist.");
            var baseDir = parse.GetValue(baseModel)!;
            if (!File.Exists(Path.Combine(baseDir.FullName, "config.json"))) return Cli.Fail($"train-judge: {baseDir.FullName} is not a Hugging Face checkpoint (no config.json).");
            var tokenizerPath = Path.Combine(baseDir.FullName, "tokenizer.json");
            if (!File.Exists(tokenizerPath)) return Cli.Fail($"train-judge: {baseDir.FullName} has no tokenizer.json.");
            // Options, output paths and the input are all checked before the model is loaded.
            Cli.AtLeast("--steps", parse.GetValue(steps), 1);
            Cli.AtLeast("--prompts-per-step", parse.GetValue(prompts), 1);
            Cli.AtLeast("--group-size", parse.GetValue(group), 2);
            Cli.AtLeast("--mini-batch", parse.GetValue(miniBatch), 1);
            Cli.AtLeast("--max-new-tokens", parse.GetValue(maxTokens), 1);
            Cli.InRange("--lr", parse.GetValue(lr), 0, 1, minExclusive: true);
            Cli.InRange("--kl", parse.GetValue(kl), 0, 100);
            var torchDevice = Cli.Device(parse.GetValue(device)!);
            var torchDtype = Cli.DType(parse.GetValue(dtype)!);
            var outputFolder = parse.GetValue(output)!.FullName.TrimEnd(Path.DirectorySeparatorChar);
            var csv = parse.GetValue(log)?.FullName ?? outputFolder + ".grpo.csv";
            var checkpointDir = parse.GetValue(checkpoints)?.FullName;
            // No output may overwrite an input (the labelled steps, the base checkpoint) or another output.
            var guard = new PathGuard().InputFile("--input", inputFile.FullName).InputFolder("--base", baseDir.FullName).OutputFolder("--output", outputFolder);
            var logOption = parse.GetValue(log) is null ? "--log (default)" : "--log";
            guard.OutputFile(logOption, csv);
            if (checkpointDir is not null) guard.OutputFolder("--checkpoints", checkpointDir);
            guard.Check();
            Cli.CheckOutputFolder("--output", outputFolder);
            if (Directory.Exists(outputFolder) && Directory.EnumerateFileSystemEntries(outputFolder).Any() && !parse.GetValue(overwrite))
                return Cli.Fail($"train-judge: --output {outputFolder} exists and is not empty; give a new folder or --overwrite.");
            Cli.CheckOutputFile(logOption, csv);
            if (checkpointDir is not null) Cli.CheckOutputFolder("--checkpoints", checkpointDir);
            var solutions = TrlStepwiseFormat.Read(inputFile.FullName);
            if (solutions.Count == 0) return Cli.Fail($"train-judge: {inputFile.FullName} holds no records (empty or blank lines only).");
            var examples = solutions.SelectMany(s => JudgeExample.FromSolution(s.Prompt, s.Completions, s.Labels)).ToArray();
            var positives = examples.Count(e => e.Label);
            if (examples.Length > 0 && (positives == 0 || positives == examples.Length))
                return Cli.Fail($"train-judge: {inputFile.FullName} has {examples.Length} labelled steps, all {(positives == 0 ? "negative" : "positive")}; a judge needs both classes.");
            var judgeTemplate = ChooseTemplate(parse.GetValue(template)!, baseDir.FullName);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{examples.Length} labelled steps from {solutions.Count} solutions ({100.0 * positives / examples.Length:F1} % positive); template {judgeTemplate.Name}"));

            // Metrics go to a working file, never to the CSV of an earlier run: beside the CSV (removed if the run fails),
            // or in the checkpoint folder when there is one, so that a resumed run appends to its own earlier steps. The
            // CSV is replaced only once the judge is saved; the judge folder is written beside --output and swapped in
            // whole (a killed run leaves the earlier judge and CSV as they were).
            var workingCsv = checkpointDir is null ? AtomicFile.TemporaryPath(csv) : Path.Combine(checkpointDir, WorkingMetricsFile);
            if (checkpointDir is not null) Directory.CreateDirectory(checkpointDir);
            try
            {
                var ml = new MLContext(seed: parse.GetValue(seed));
                var data = StepwiseJudgeTrainer.ToDataView(ml, examples);
                using var model = ModelBundle.Load(baseDir.FullName, torchDevice, torchDtype);
                Console.Error.WriteLine($"base loaded on {model.Device} in {model.Model.DType}");
                var total = parse.GetValue(steps);
                var trainer = ml.StepWiser().Trainers.StepwiseJudge(new StepwiseJudgeTrainerOptions
                {
                    Model = model,
                    Template = judgeTemplate,
                    Judge = new StepwiseJudgeOptions { MaxNewTokens = parse.GetValue(maxTokens) },
                    Grpo = new GrpoOptions
                    {
                        Steps = total, PromptsPerStep = parse.GetValue(prompts), GroupSize = parse.GetValue(group), MiniBatchSize = parse.GetValue(miniBatch),
                        LearningRate = parse.GetValue(lr), MaxNewTokens = parse.GetValue(maxTokens), BalancePrompts = !parse.GetValue(noBalance),
                        KlCoefficient = parse.GetValue(kl), LogCsvPath = workingCsv, CheckpointDirectory = checkpointDir, Seed = parse.GetValue(seed),
                    },
                    Progress = new Progress<GrpoStepMetrics>(m => Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  step {m.Step}/{total}: reward {m.MeanReward:F3} (+ {Cli.Num(m.RewardPositive, "F2")} / − {Cli.Num(m.RewardNegative, "F2")}), entropy {(double.IsNaN(m.Entropy) ? "n/a (no group with mixed rewards: no update)" : Cli.Num(m.Entropy))}, length {m.ResponseLength:F0}, clipped {m.ClipFraction:P1}"))),
                    Metadata = new Dictionary<string, string> { ["training_data"] = inputFile.Name, ["base_model"] = baseDir.Name },
                });
                using var judge = trainer.Fit(data);
                AtomicFolder.Write(outputFolder, judge.Save);
                if (checkpointDir is null) AtomicFile.Commit(workingCsv, csv);
                else AtomicFile.Write(csv, stream => { using var from = File.OpenRead(workingCsv); from.CopyTo(stream); });
                var metrics = trainer.LastMetrics;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
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
}
