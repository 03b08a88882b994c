using Microsoft.ML.Data;

namespace StepWiser.ML.Annotation;

/// <summary>
/// A row of the annotator's output under its default column names, for <c>mlContext.Data.CreateEnumerable</c>; 
/// <see cref="ToSolution"/> gives the <see cref="AnnotatedSolution"/> that yields each label scheme's examples.
/// </summary>
public sealed class AnnotatedRow
{
    /// <summary>The problem text.</summary>
    public string Problem { get; set; } = "";

    /// <summary>The solution's chunks.</summary>
    [VectorType] public string[] Chunks { get; set; } = [];

    /// <summary>Q_1..Q_H, NaN where a prefix's rollouts failed.</summary>
    [VectorType] public float[] StepValues { get; set; } = [];

    /// <summary>Q_0, the value of the bare prompt.</summary>
    public float InitialValue { get; set; }

    /// <summary>The labels under the annotator's scheme (empty when values are missing).</summary>
    [VectorType] public bool[] StepLabels { get; set; } = [];

    /// <summary>Prefixes whose rollouts failed (their values are missing, so the row has no labels).</summary>
    public int FailedPrefixes { get; set; }

    /// <summary>The row's values as an <see cref="AnnotatedSolution"/> (check <see cref="AnnotatedSolution.IsComplete"/> before labelling).</summary>
    public AnnotatedSolution ToSolution() => new(Problem, Chunks, new AnnotationResult(InitialValue, StepValues, FailedPrefixes));
}
