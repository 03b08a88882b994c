namespace StepWiser.ML.Worlds;

/// <summary>A problem of the built-in world as an ML.NET row (<see cref="ArithmeticChainWorld.ToDataView"/>).</summary>
public sealed class WorldProblemRow
{
    /// <summary>Stable id.</summary>
    public string Id { get; set; } = "";

    /// <summary>Problem statement.</summary>
    public string Problem { get; set; } = "";

    /// <summary>The prompt a policy continues.</summary>
    public string Prompt { get; set; } = "";

    /// <summary>Canonical solution with <c>&lt;chunk&gt;</c> tags.</summary>
    public string Solution { get; set; } = "";

    /// <summary>The same solution without tags (fine-grained trace).</summary>
    public string RawSolution { get; set; } = "";

    /// <summary>The exact answer, as text.</summary>
    public string Answer { get; set; } = "";

    /// <summary>Number of logical chunks of the canonical solution.</summary>
    public int StepCount { get; set; }
}
