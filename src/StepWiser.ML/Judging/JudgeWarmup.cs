using StepWiser.ML.Training;

namespace StepWiser.ML.Judging;

/// <summary>
/// The format warm-up of a judge: SFT examples whose response is an analysis followed by the boxed verdict of the
/// example's label. It is the analogue of the instruction tuning the paper's judges start from (an instruct model
/// already follows the judge format); the warmed-up judge is itself a baseline, so what RL adds stays visible.
/// </summary>
public static class JudgeWarmup
{
    /// <summary>SFT examples: prompt from <paramref name="template"/>, response " {analysis} \boxed{Positive|Negative}".</summary>
    public static IReadOnlyList<SftExample> Examples(IEnumerable<JudgeExample> examples, JudgeTemplate template, Func<JudgeExample, string> analysis)
    {
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(analysis);
        return examples.Select(e => new SftExample(template.Render(e.Input), " " + analysis(e).Trim() + " " + VerdictParser.Format(e.Label))).ToArray();
    }
}
