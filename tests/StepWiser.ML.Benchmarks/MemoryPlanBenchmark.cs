using System.Diagnostics;
using System.Globalization;
using StepWiser.ML.Generation;
using StepWiser.ML.Judging;
using StepWiser.ML.Models;
using StepWiser.ML.Tokenization;
using StepWiser.ML.Training;
using static TorchSharp.torch;

/// <summary>
/// The memory plan against measured peaks (issue 35): for each row a fresh child process (glibc's mmap threshold
/// fixed at 64 KiB, so every tensor of 64 KiB or more is its own mapping and freeing it gives the memory back at once),
/// one torch thread, a warm-up of the same code path on a tiny shape, then the peak resident memory (VmHWM, reset
/// through /proc/self/clear_refs) of building the model and taking two updates (two SFT updates through SftTrainer, or
/// two GRPO updates through GrpoTrainer's update on sampled-like rollouts), less the resident memory before. The plan
/// is MemoryPlan.For with the same settings (for GRPO rows without generation: held + the update phase).
/// Usage: --suite memory-plan [--rows 0,3,5]
/// </summary>
internal static class MemoryPlanBenchmark
{
    private const int MmapThreshold = 65536;

    private sealed record Row(string Model, ModelConfig Config, MemoryTask Task, ScalarType DType, OptimizerPrecision Precision, bool Checkpointing, bool Kl, int Batch, int Prompt, int Response)
    {
        /// <summary>GRPO: the groups' responses share their prompt (one prompt forward per group), where the plan counts full sequences.</summary>
        public bool SharedPrompts { get; init; }
    }

    private static readonly ModelConfig WideVocabulary = BuiltInModels.Small with { VocabSize = 32768, TieWordEmbeddings = false };
    private static readonly ModelConfig Qwen3Small = BuiltInModels.Small with { ModelType = "qwen3", Architectures = ["Qwen3ForCausalLM"] };

    private static readonly Row[] Rows =
    [
        new("Tiny", BuiltInModels.Tiny, MemoryTask.Sft, ScalarType.Float32, OptimizerPrecision.MasterWeights, false, false, 16, 128, 128),
        new("Tiny", BuiltInModels.Tiny, MemoryTask.Sft, ScalarType.Float32, OptimizerPrecision.MasterWeights, false, false, 32, 256, 256),
        new("Small", BuiltInModels.Small, MemoryTask.Sft, ScalarType.Float32, OptimizerPrecision.MasterWeights, false, false, 16, 128, 128),
        new("Small", BuiltInModels.Small, MemoryTask.Sft, ScalarType.Float32, OptimizerPrecision.MasterWeights, false, false, 32, 256, 256),
        new("Medium", BuiltInModels.Medium, MemoryTask.Sft, ScalarType.Float32, OptimizerPrecision.MasterWeights, false, false, 8, 128, 128),
        new("Medium", BuiltInModels.Medium, MemoryTask.Sft, ScalarType.Float32, OptimizerPrecision.MasterWeights, false, false, 16, 256, 256),
        new("Small", BuiltInModels.Small, MemoryTask.Sft, ScalarType.BFloat16, OptimizerPrecision.MasterWeights, false, false, 16, 128, 128),
        new("Medium", BuiltInModels.Medium, MemoryTask.Sft, ScalarType.Float32, OptimizerPrecision.MasterWeights, true, false, 16, 256, 256),
        new("Medium", BuiltInModels.Medium, MemoryTask.Sft, ScalarType.BFloat16, OptimizerPrecision.SplitMasterWeights, true, false, 16, 256, 256),
        new("Small, Qwen3", Qwen3Small, MemoryTask.Sft, ScalarType.BFloat16, OptimizerPrecision.MasterWeights, false, false, 16, 128, 128),
        new("Small, vocabulary 32,768", WideVocabulary, MemoryTask.Grpo, ScalarType.Float32, OptimizerPrecision.MasterWeights, false, false, 8, 64, 192),
        new("Small, vocabulary 32,768", WideVocabulary, MemoryTask.Grpo, ScalarType.BFloat16, OptimizerPrecision.MasterWeights, true, true, 8, 64, 192),
        new("Small, vocabulary 32,768", WideVocabulary, MemoryTask.Grpo, ScalarType.Float32, OptimizerPrecision.MasterWeights, false, false, 8, 64, 192) { SharedPrompts = true },
        new("Medium", BuiltInModels.Medium, MemoryTask.Inference, ScalarType.Float32, OptimizerPrecision.MasterWeights, false, false, 16, 256, 256),
        new("Small, vocabulary 32,768", WideVocabulary, MemoryTask.Inference, ScalarType.BFloat16, OptimizerPrecision.MasterWeights, false, false, 16, 128, 128),
        new("Small, vocabulary 32,768", WideVocabulary, MemoryTask.Inference, ScalarType.Float32, OptimizerPrecision.MasterWeights, false, false, 16, 128, 128),
        new("Medium", BuiltInModels.Medium, MemoryTask.Inference, ScalarType.BFloat16, OptimizerPrecision.MasterWeights, false, false, 16, 256, 256),
        new("Medium", BuiltInModels.Medium, MemoryTask.Inference, ScalarType.BFloat16, OptimizerPrecision.MasterWeights, false, false, 16, 256, 64),
        new("Medium", BuiltInModels.Medium, MemoryTask.Inference, ScalarType.BFloat16, OptimizerPrecision.MasterWeights, false, false, 4, 256, 256),
    ];

    public static void Run(int[]? only)
    {
        Console.WriteLine($"memory plan vs measured peak, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; every row a fresh process, 1 torch thread, MALLOC_MMAP_THRESHOLD_={MmapThreshold}");
        Console.WriteLine("| # | model | task | type | optimizer | checkpointing | KL | batch × (prompt + response) | planned MiB | measured MiB | plan ÷ measured |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|");
        for (var i = 0; i < Rows.Length; i++)
        {
            if (only is not null && !only.Contains(i)) continue;
            var row = Rows[i];
            var measured = MeasureInChild(i);
            var planned = Planned(row);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {i} | {row.Model} | {row.Task}{(row.SharedPrompts ? ", shared prompts" : "")} | {row.DType} | {(row.Task == MemoryTask.Inference ? "—" : row.DType == ScalarType.Float32 ? "float32" : row.Precision.ToString())} | {(row.Checkpointing ? "yes" : "no")} | {(row.Kl ? "yes" : "no")} | {row.Batch} × ({row.Prompt} + {row.Response}) | {planned / 1048576.0:F1} | {measured / 1048576.0:F1} | {planned / (double)measured:F2} |"));
        }
    }

    /// <summary>The plan's peak; for GRPO rows, which run updates but no generation, held + the update phases.</summary>
    private static long Planned(Row row)
    {
        var plan = MemoryPlan.For(row.Config, Options(row, row.Batch, row.Prompt, row.Response));
        if (row.Task != MemoryTask.Grpo) return plan.PeakBytes;
        var held = plan.Parts.Where(p => p.Phase == MemoryPhase.Held).Sum(p => p.Bytes);
        return held + plan.Parts.Where(p => p.Phase is not (MemoryPhase.Held or MemoryPhase.Generation)).GroupBy(p => p.Phase).Max(g => g.Sum(p => p.Bytes));
    }

    private static MemoryPlanOptions Options(Row row, int batch, int prompt, int response) => new()
    {
        Task = row.Task, BatchSize = batch, PromptLength = prompt, ResponseLength = response, DType = row.DType, Precision = row.Precision,
        ActivationCheckpointing = row.Checkpointing, KlReference = row.Kl,
    };

    private static long MeasureInChild(int index)
    {
        var path = Environment.ProcessPath!;
        var start = new ProcessStartInfo(path) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(path) == "dotnet") start.ArgumentList.Add(typeof(MemoryPlanBenchmark).Assembly.Location);
        foreach (var a in new[] { "--suite", "memory-plan-row", "--row", index.ToString(CultureInfo.InvariantCulture) }) start.ArgumentList.Add(a);
        start.Environment["MALLOC_MMAP_THRESHOLD_"] = MmapThreshold.ToString(CultureInfo.InvariantCulture);
        using var child = Process.Start(start)!;
        var output = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        var line = output.Split('\n').FirstOrDefault(l => l.StartsWith("measured ", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"row {index}: the child process printed no measurement (exit {child.ExitCode}): {output}");
        return long.Parse(line["measured ".Length..].Trim(), CultureInfo.InvariantCulture);
    }

    /// <summary>The child: warm up on a tiny shape, reset the peak, measure the row.</summary>
    public static void RunRow(int index)
    {
        set_num_threads(1);
        var row = Rows[index];
        Execute(row, batch: 2, prompt: 8, response: 8);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        File.WriteAllText("/proc/self/clear_refs", "5");
        var before = Status("VmRSS");
        Execute(row, row.Batch, row.Prompt, row.Response);
        Console.WriteLine($"measured {Status("VmHWM") - before}");
    }

    private static void Execute(Row row, int batch, int prompt, int response)
    {
        using var model = new CausalLM(row.Config, CPU, row.DType);
        using (no_grad())
            foreach (var (name, p) in model.named_parameters())
                if (name.EndsWith("norm.weight", StringComparison.Ordinal)) p.fill_(1.0);
                else p.normal_(0, CausalLM.InitializerRange);
        if (row.Task == MemoryTask.Sft)
        {
            var random = new Random(1);
            string Text(int n) => new(Enumerable.Range(0, n).Select(_ => (char)random.Next('a', 'z' + 1)).ToArray());
            // One byte a token: the prompt's characters, the response's and the end-of-sequence token.
            var examples = Enumerable.Range(0, 2 * batch).Select(_ => new SftExample(Text(prompt), Text(response - 1))).ToArray();
            var options = new SftOptions { Steps = 2, BatchSize = batch, WarmupSteps = 0, MaxSequenceLength = prompt + response, Precision = row.Precision, ActivationCheckpointing = row.Checkpointing };
            new SftTrainer(model, BuiltInTokenizer.Create(), options).Train(examples);
            return;
        }
        var rng = new Random(2);
        int[] Tokens(int n) => Enumerable.Range(0, n).Select(_ => rng.Next(row.Config.VocabSize)).ToArray();
        if (row.Task == MemoryTask.Inference)
        {
            // The built-in tokenizer decodes only its own ids: the wide vocabulary's rows generate ids, decoded as bytes.
            var engine = new LocalTextGenerator(model, BuiltInTokenizer.Create(), new LocalGeneratorOptions { MaxBatchRows = batch });
            var sampling = new SamplingOptions { MaxNewTokens = response, Temperature = 1, Seed = 3 };
            engine.Generate(Enumerable.Range(0, batch).Select(_ => new GenerationRequest { PromptTokenIds = Tokens(prompt).Select(t => t % 256).ToArray(), Options = sampling }).ToArray());
            return;
        }
        var trainer = new GrpoTrainer(model, BuiltInTokenizer.Create(), JudgeTemplate.Compact, new GrpoOptions
        {
            MiniBatchSize = batch, KlCoefficient = row.Kl ? 0.1 : 0, ActivationCheckpointing = row.Checkpointing, SharedPromptForward = row.SharedPrompts, Precision = row.Precision,
        });
        const int group = 4;
        var prompts = Enumerable.Range(0, (batch + group - 1) / group).Select(_ => Tokens(prompt)).ToArray();
        var rollouts = Enumerable.Range(0, batch).Select(i => new GrpoTrainer.Rollout(row.SharedPrompts ? prompts[i / group] : Tokens(prompt), Tokens(response),
            Enumerable.Repeat(-10f, response).ToArray(), i % 2 == 0 ? 1 : -1)).ToArray();
        using var reference = row.Kl ? trainer.Snapshot() : null;
        using var optimizer = new AdamW(model.named_parameters()) { WeightDecay = 0, Precision = row.Precision };
        for (var step = 0; step < 2; step++) trainer.Update(rollouts, optimizer, reference, 1e-5);
    }

    private static long Status(string key)
    {
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith(key + ":", StringComparison.Ordinal));
        return long.Parse(line[(key.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
    }
}
