namespace StepWiser.ML.Annotation;

/// <summary>
/// One solution to chunk and annotate, as an <see cref="Microsoft.ML.IDataView"/> row (load a list of them with
/// <c>mlContext.Data.LoadFromEnumerable</c>): the columns the chunker and the annotator read by default.
/// </summary>
public sealed class SolutionRow
{
    /// <summary>The problem text a judge will read.</summary>
    public string Problem { get; set; } = "";

    /// <summary>The prompt the policy completed (the annotator's rollouts continue it).</summary>
    public string Prompt { get; set; } = "";

    /// <summary>The solution as the policy wrote it (chunk-tagged by default).</summary>
    public string Solution { get; set; } = "";

    /// <summary>The reference answer the verifier compares final answers with.</summary>
    public string Answer { get; set; } = "";
}
