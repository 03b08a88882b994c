using Microsoft.ML;
using StepWiser.ML.Annotation;
using StepWiser.ML.Judging;
using StepWiser.ML.Models;

namespace StepWiser.ML.Samples.Stages;

/// <summary>
/// Stage 3, training the judge: labelled steps (TRL stepwise JSONL from stage 2) become rows of Problem, History,
/// Chunk and Label; the StepWiser trainer runs GRPO from a base checkpoint and returns the judge transformer, which is
/// saved as a folder (Hugging Face layout + manifest) and loaded back.
/// </summary>
public static class TrainJudgeSample
{
    /// <summary>Trains a judge from <paramref name="baseModelDir"/> on <paramref name="trlPath"/>, saves it to <paramref name="judgeDir"/>; returns the GRPO metrics.</summary>
    public static IReadOnlyList<GrpoStepMetrics> Run(string baseModelDir, string trlPath, string judgeDir, TextWriter log, int steps = 4)
    {
        var ml = new MLContext(seed: 1);
        var labelled = TrlStepwiseFormat.Read(trlPath).SelectMany(s => JudgeExample.FromSolution(s.Prompt, s.Completions, s.Labels));
        var data = StepwiseJudgeTrainer.ToDataView(ml, labelled);      // columns Problem, History, Chunk, Label

        using var baseModel = ModelBundle.Load(baseModelDir);           // weights, tokenizer.json (and a chat template, if any)
        var trainer = ml.StepWiser().Trainers.StepwiseJudge(new StepwiseJudgeTrainerOptions
        {
            Model = baseModel,                                         // Fit trains a copy; baseModel stays as loaded
            Template = JudgeTemplate.Compact,                       // JudgeTemplate.Chat(ChatTemplate.Qwen25) for instruct models
            Grpo = new GrpoOptions { Steps = steps, PromptsPerStep = 8, GroupSize = 4, MiniBatchSize = 16, LearningRate = 5e-4, MaxNewTokens = 64, BalancePrompts = true },
            Judge = new StepwiseJudgeOptions { MaxNewTokens = 64 },
        });
        using (var judge = trainer.Fit(data)) judge.Save(judgeDir);

        using var loaded = StepwiseJudgeTransformer.Load(judgeDir);
        foreach (var m in trainer.LastMetrics) log.WriteLine($"  step {m.Step}: reward {m.MeanReward:F2}, entropy {m.Entropy:F3}, clipped {m.ClipFraction:P0}");
        log.WriteLine($"judge saved to {judgeDir} and loaded back (template {loaded.Judge.Template.Name})");
        return trainer.LastMetrics;
    }
}
