using Microsoft.ML;
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
    /// <summary>Returns the selection of every prompt (an empty pick where no sample was correct).</summary>
    public static IReadOnlyList<SelectionRow> Run(ITextGenerator policy, IStepJudge judge, ArithmeticChainWorld world, TextWriter log, int prompts = 16)
    {
        var ml = new MLContext(seed: 1);
        var data = ArithmeticChainWorld.ToDataView(ml, world.Generate("select-sample", prompts, seed: 1));   // Prompt, Problem, Answer, ...
        var options = new JudgeDataSelectionOptions { Sampling = new SamplingOptions { NumSamples = 4, MaxNewTokens = world.Options.SolutionTokenBudget, Temperature = 1, Seed = 4 }, Seed = 1 };
        var selected = ml.StepWiser().Selection.ByJudge(policy, judge, new MathAnswerVerifier(), options)
            .Fit(data).Transform(data);                                                 // -> JudgeSelected, JudgeScore, OutcomeSelected, ...
        var rows = ml.Data.CreateEnumerable<SelectionRow>(selected, reuseRowObject: false).ToArray();
        var picked = rows.Where(s => s.JudgeSelected.Length > 0).ToArray();
        log.WriteLine($"{picked.Length}/{rows.Length} prompts with a correct sample; judge and outcome picks differ on {picked.Count(s => s.JudgeSelected != s.OutcomeSelected)}");
        foreach (var s in picked.Take(2)) log.WriteLine($"  {s.Problem}\n  judge pick (score {s.JudgeScore:F2}): {s.JudgeSelected.Replace("\n", " ", StringComparison.Ordinal)}");
        return rows;
    }
}
