namespace StepWiser.ML.Annotation;

/// <summary>
/// A solution with its Monte-Carlo values: the problem the judge will read, the chunks, and the values of every prefix.
/// It gives the labelled solution under any <see cref="LabelScheme"/>; a solution whose values are not all present has
/// no labels (<see cref="IsComplete"/>), so a label is never made from a missing value.
/// </summary>
/// <param name="Problem">The problem text as a judge reads it.</param>
/// <param name="Chunks">The solution's steps.</param>
/// <param name="Values">Q_0 and Q_1..Q_H from the annotator.</param>
public sealed record AnnotatedSolution(string Problem, IReadOnlyList<string> Chunks, AnnotationResult Values)
{
    /// <summary>Whether every step has a value (no prefix failed), so the solution can be labelled.</summary>
    public bool IsComplete => Values.IsComplete && Values.Values.Count == Chunks.Count;

    /// <summary>The solution with its labels under <paramref name="scheme"/> (TRL's stepwise format); throws for an incomplete solution.</summary>
    public StepwiseExample ToExample(LabelScheme scheme, StepLabelOptions? options = null)
    {
        if (!IsComplete) throw new InvalidOperationException($"the solution of \"{Data.TextPreview.Shorten(Problem)}\" has steps without a value, so it has no labels");
        return new StepwiseExample(Problem, Chunks, Values.Labels(scheme, options));
    }
}
