using StepWiser.ML.Generation;
using StepWiser.ML.Judging;
using StepWiser.ML.AnswerChecking;
using StepWiser.ML.Selection;
using StepWiser.ML.Worlds;

namespace StepWiser.ML.Samples.Stages;

/// <summary>
/// Stage 6, data selection: N solutions per prompt, keep the correct ones, and pick the one the judge scores highest
/// (mean chunk score) next to a random correct one (outcome-only selection). The picks are SFT data for the policy.
/// </summary>
public static class SelectSample
{
    /// <summary>Returns the selections of the prompts that had a correct sample.</summary>
    public static async Task<IReadOnlyList<SelectionResult>> RunAsync(ITextGenerator policy, IStepJudge judge, ArithmeticChainWorld world, TextWriter log, int prompts = 16)
    {
        var batch = world.Generate("select-sample", prompts, seed: 1);
        var selected = await JudgeDataSelection.SelectAsync(policy, judge, new MathAnswerVerifier(),
            batch.Select(p => (p.Prompt, p.Problem, p.AnswerText)).ToArray(),
            new SamplingOptions { NumSamples = 4, MaxNewTokens = world.Options.SolutionTokenBudget, Temperature = 1, Seed = 4 }, seed: 1);
        var picked = selected.Where(s => s.JudgeSelected is not null).ToArray();
        log.WriteLine($"{picked.Length}/{selected.Count} prompts with a correct sample; judge and outcome picks differ on {picked.Count(s => s.JudgeSelected != s.OutcomeSelected)}");
        foreach (var s in picked.Take(2)) log.WriteLine($"  {s.Problem}\n  judge pick (score {s.JudgeScore:F2}): {s.JudgeSelected!.Replace("\n", " ", StringComparison.Ordinal)}");
        return selected;
    }
}
