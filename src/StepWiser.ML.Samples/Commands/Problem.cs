using System.Text.Json.Nodes;

namespace StepWiser.ML.Samples.Commands;

/// <summary>One problem of a problems file (<see cref="ProblemFile"/>).</summary>
/// <param name="Line">Its line in the file (1-based).</param>
/// <param name="Source">The record as read; its other fields are kept in the output.</param>
/// <param name="Prompt">The problem text.</param>
/// <param name="Answer">The reference answer, or null.</param>
internal sealed record Problem(int Line, JsonObject Source, string Prompt, string? Answer);
