using System.CommandLine;
using StepWiser.ML.Annotation;
using StepWiser.ML.Judging;

namespace StepWiser.ML.Samples.Commands;

/// <summary>
/// The options of <c>train-judge</c>, with the paper's settings as defaults where it gives them (GRPO: learning rate
/// 1e-6, groups of 4, 1,024 prompts a step, mini-batches of 256, clip 0.2/0.28, 800 steps, no KL; balanced prompts)
/// and this library's choices where it does not (the warm-up, which the paper's chunk-tuned instruct judges did not
/// need; its learning rate is a common fine-tuning rate for 1–7B models, not a measured one), each said in its help.
/// </summary>
internal sealed class TrainJudgeOptions
{
    public const string UpToFirstNegative = "up-to-first-negative";
    public const string AllSteps = "all";
    public const string NoAnalysis = "none";
    public const string Rederivation = "rederivation";

    public Option<FileInfo> Input { get; } = new("--input") { Description = "TRL stepwise-supervision JSONL: {\"prompt\", \"completions\": [...], \"labels\": [...]} per line (annotate --trl).", Required = true };
    public Option<DirectoryInfo> Base { get; } = new("--base") { Description = "The checkpoint the judge starts from (Hugging Face layout with tokenizer.json); the paper: the chunk-tuned instruct policy.", Required = true };
    public Option<DirectoryInfo> Output { get; } = new("--output") { Description = "Folder of the trained judge (written at the end).", Required = true };
    public Option<string> Template { get; } = new("--template") { Description = "Judge prompt: auto (the paper's prompt in the checkpoint's chat template when it has one, else compact), compact, chat.", DefaultValueFactory = _ => "auto" };
    public Option<string> Selection { get; } = new("--step-selection") { Description = "Which labelled steps of a solution are trained on: up-to-first-negative (the recipe's: later steps carry the earlier mistake's label) or all.", DefaultValueFactory = _ => UpToFirstNegative };
    public Option<int> WarmupSteps { get; } = new("--warmup-steps") { Description = "Updates of the verdict warm-up before GRPO, on balanced selected steps (0 skips it; not in the paper, whose instruct judges knew the format).", DefaultValueFactory = _ => 100 };
    public Option<double> WarmupLr { get; } = new("--warmup-lr") { Description = "Peak learning rate of the warm-up (a common fine-tuning rate for 1-7B models; the built-in world's small judges use 1e-3).", DefaultValueFactory = _ => 1e-5 };
    public Option<int> WarmupBatch { get; } = new("--warmup-batch-size") { Description = "Examples per warm-up update.", DefaultValueFactory = _ => 32 };
    public Option<string> Analysis { get; } = new("--analysis") { Description = "What the warm-up teaches before the verdict: none (the boxed verdict alone) or rederivation (the base, as the policy, re-derives the step greedily and the analysis compares: \"Expected: … Step: … Same.\").", DefaultValueFactory = _ => NoAnalysis };
    public Option<string> PromptFormat { get; } = new("--prompt-format") { Description = "With --analysis rederivation: how the base is prompted to re-derive a step, chat (its chat template, as annotate) or raw (base models).", DefaultValueFactory = _ => PolicyPrompt.ChatFormat };
    public Option<int> MaxSequenceLength { get; } = new("--max-sequence-length") { Description = "Longest warm-up sequence in tokens (prompt and response); a longer prompt is refused before training.", DefaultValueFactory = _ => 2048 };
    public Option<int> Steps { get; } = new("--steps") { Description = "GRPO steps (the paper: 800).", DefaultValueFactory = _ => 800 };
    public Option<int> Prompts { get; } = new("--prompts-per-step") { Description = "Labelled steps sampled per GRPO step (the paper: 1024).", DefaultValueFactory = _ => 1024 };
    public Option<int> Group { get; } = new("--group-size") { Description = "Responses per prompt, G (the paper: 4).", DefaultValueFactory = _ => 4 };
    public Option<int> MiniBatch { get; } = new("--mini-batch") { Description = "Responses per policy update (the paper: 256 of 4,096 a step, so clipping engages).", DefaultValueFactory = _ => 256 };
    public Option<double> Lr { get; } = new("--lr") { Description = "GRPO learning rate (the paper: 1e-6 for 1.5B and 7B models; tiny models need far more).", DefaultValueFactory = _ => 1e-6 };
    public Option<double> ClipLow { get; } = new("--clip-low") { Description = "Lower clip of the ratio, epsilon_low (the paper: 0.2).", DefaultValueFactory = _ => 0.2 };
    public Option<double> ClipHigh { get; } = new("--clip-high") { Description = "Upper clip of the ratio, epsilon_high, clip-higher (the paper: 0.28).", DefaultValueFactory = _ => 0.28 };
    public Option<double> Kl { get; } = new("--kl") { Description = "KL coefficient to the judge GRPO starts from (0 = off; the paper leaves it open, DAPO-style no KL is common).", DefaultValueFactory = _ => 0 };
    public Option<float> Temperature { get; } = new("--temperature") { Description = "Sampling temperature of the GRPO responses (open in the paper).", DefaultValueFactory = _ => 1f };
    public Option<int> MaxTokens { get; } = new("--max-new-tokens") { Description = "Longest judge response, in GRPO and when the judge runs.", DefaultValueFactory = _ => 512 };
    public Option<bool> NoBalance { get; } = new("--no-balance") { Description = "Neither balance the warm-up's steps nor GRPO's prompts 50/50 positive/negative (the paper found balancing essential)." };
    public Option<FileInfo?> Log { get; } = new("--log") { Description = "CSV of per-step GRPO metrics (default: <output>.grpo.csv)." };
    public Option<DirectoryInfo?> Checkpoints { get; } = new("--checkpoints") { Description = "Checkpoint folder: the warmed-up judge and GRPO checkpoints; a rerun with the same folder and settings resumes exactly." };
    public Option<string> Device { get; } = new("--device") { Description = "cpu, cuda or cuda:N (needs the CUDA backend package).", DefaultValueFactory = _ => "cpu" };
    public Option<string> DType { get; } = new("--dtype") { Description = "The weight type the judge is trained and saved in: fp32, bf16 or fp16 (16-bit weights keep float32 master weights in the optimizer, see --optimizer).", DefaultValueFactory = _ => "fp32" };
    public Option<string?> MicroBatch { get; } = new("--micro-batch") { Description = "Responses per forward/backward pass inside a mini-batch (gradients accumulate to the mini-batch's), or auto: the largest the memory plan fits (default: the whole mini-batch)." };
    public Option<bool> Checkpointing { get; } = new("--checkpointing") { Description = "Activation checkpointing: recompute each layer's activations in the backward pass (far less memory, one more forward pass)." };
    public Option<string> Optimizer { get; } = new("--optimizer") { Description = "AdamW's state for 16-bit weights: master (float32 master weights and moments), split (the same master in two 16-bit halves, bfloat16 moments: half the state) or plain (not recommended: small updates are lost).", DefaultValueFactory = _ => "master" };
    public Option<double?> Memory { get; } = new("--memory") { Description = "Memory the run may use, in GiB; the memory plan is checked against it before the model loads (default: the machine's memory on cpu, unchecked on cuda)." };
    public Option<int> GenerationRows { get; } = new("--generation-rows") { Description = "Responses sampled at once (one KV cache).", DefaultValueFactory = _ => 64 };
    public Option<int> Seed { get; } = new("--seed") { Description = "Seed of balancing, data order, prompt sampling and generation.", DefaultValueFactory = _ => 1 };
    public Option<bool> Overwrite { get; } = new("--overwrite") { Description = "Replace an existing, non-empty --output folder (otherwise refused, so no earlier judge is lost)." };

    /// <summary>Every option, in the order --help lists them.</summary>
    public IEnumerable<Option> All =>
    [
        Input, Base, Output, Template, Selection, WarmupSteps, WarmupLr, WarmupBatch, Analysis, PromptFormat, MaxSequenceLength, Steps, Prompts, Group, MiniBatch, Lr,
        ClipLow, ClipHigh, Kl, Temperature, MaxTokens, NoBalance, Log, Checkpoints, Device, DType, MicroBatch, Checkpointing, Optimizer, Memory, GenerationRows, Seed, Overwrite,
    ];

    /// <summary>Checks every number and choice (one line naming the option) and returns the recipe's settings.</summary>
    public JudgeRecipeOptions Check(ParseResult parse)
    {
        Cli.AtLeast("--warmup-steps", parse.GetValue(WarmupSteps), 0);
        Cli.InRange("--warmup-lr", parse.GetValue(WarmupLr), 0, 1, minExclusive: true);
        Cli.AtLeast("--warmup-batch-size", parse.GetValue(WarmupBatch), 1);
        Cli.AtLeast("--max-sequence-length", parse.GetValue(MaxSequenceLength), 2);
        Cli.AtLeast("--steps", parse.GetValue(Steps), 1);
        Cli.AtLeast("--prompts-per-step", parse.GetValue(Prompts), 1);
        Cli.AtLeast("--group-size", parse.GetValue(Group), 2);
        Cli.AtLeast("--mini-batch", parse.GetValue(MiniBatch), 1);
        Cli.AtLeast("--max-new-tokens", parse.GetValue(MaxTokens), 1);
        Cli.InRange("--lr", parse.GetValue(Lr), 0, 1, minExclusive: true);
        Cli.InRange("--clip-low", parse.GetValue(ClipLow), 0, 1, minExclusive: true);
        if (parse.GetValue(ClipLow) >= 1) throw new CliException($"--clip-low must be less than 1 (got {parse.GetValue(ClipLow)})");
        Cli.InRange("--clip-high", parse.GetValue(ClipHigh), 0, 10, minExclusive: true);
        Cli.InRange("--kl", parse.GetValue(Kl), 0, 100);
        Cli.InRange("--temperature", parse.GetValue(Temperature), 0, 100, minExclusive: true);
        Cli.AtLeast("--generation-rows", parse.GetValue(GenerationRows), 1);
        var selection = parse.GetValue(Selection) switch
        {
            UpToFirstNegative => StepSelection.UpToFirstNegative,
            AllSteps => StepSelection.AllSteps,
            var other => throw new CliException($"train-judge: unknown --step-selection '{other}' ({UpToFirstNegative} or {AllSteps})."),
        };
        if (parse.GetValue(Analysis) is not (NoAnalysis or Rederivation))
            throw new CliException($"train-judge: unknown --analysis '{parse.GetValue(Analysis)}' ({NoAnalysis} or {Rederivation}).");
        if (parse.GetValue(Analysis) == Rederivation && parse.GetValue(WarmupSteps) == 0)
            throw new CliException("train-judge: --analysis rederivation is taught by the warm-up; --warmup-steps 0 skips it.");
        var balance = !parse.GetValue(NoBalance);
        return new JudgeRecipeOptions
        {
            StepSelection = selection, PretrainSteps = 0, WarmupSteps = parse.GetValue(WarmupSteps), BatchSize = parse.GetValue(WarmupBatch), WarmupLearningRate = parse.GetValue(WarmupLr),
            Balance = balance, MaxSequenceLength = parse.GetValue(MaxSequenceLength), Seed = parse.GetValue(Seed),
            Grpo = new GrpoOptions
            {
                Steps = parse.GetValue(Steps), PromptsPerStep = parse.GetValue(Prompts), GroupSize = parse.GetValue(Group), MiniBatchSize = parse.GetValue(MiniBatch),
                LearningRate = parse.GetValue(Lr), ClipLow = parse.GetValue(ClipLow), ClipHigh = parse.GetValue(ClipHigh), KlCoefficient = parse.GetValue(Kl),
                Temperature = parse.GetValue(Temperature), MaxNewTokens = parse.GetValue(MaxTokens), BalancePrompts = balance, Seed = parse.GetValue(Seed),
            },
        };
    }
}
