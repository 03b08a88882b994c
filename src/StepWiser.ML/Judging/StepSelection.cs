namespace StepWiser.ML.Judging;

/// <summary>Which labelled steps of a solution a judge trains on.</summary>
public enum StepSelection
{
    /// <summary>Every step. Steps after a first mistake are usually labelled negative by Monte-Carlo values although they may be locally right, which teaches a judge that reads the step locally contradictory verdicts.</summary>
    AllSteps,

    /// <summary>
    /// The steps up to and including each solution's first step labelled negative (the recipe's default). What a
    /// stepwise judge is asked in evaluation and search is whether the next step is the first mistake; later steps
    /// carry the earlier mistake's label, not their own. Uses only the Monte-Carlo labels, never gold.
    /// </summary>
    UpToFirstNegative,
}
