namespace StepWiser.ML.Worlds;

/// <summary>One problem of the built-in world with its canonical solution.</summary>
/// <param name="Id">Stable id, e.g. "train-000042".</param>
/// <param name="Start">The start value.</param>
/// <param name="Modulus">All arithmetic is modulo this number.</param>
/// <param name="Operations">The operations in order.</param>
/// <param name="Problem">The problem statement.</param>
/// <param name="Answer">The exact final answer.</param>
/// <param name="ChunkedSolution">
/// The canonical solution in the policy format: each logical step in <c>&lt;chunk&gt;…&lt;/chunk&gt;</c>, blank lines between
/// chunks, the final answer in <c>\boxed{}</c> in its own chunk.
/// </param>
/// <param name="RawSolution">The same text without tags: the fine-grained trace (explanation and equation lines separated by blank lines).</param>
/// <param name="Chunks">The inner texts of the chunks of <paramref name="ChunkedSolution"/>.</param>
/// <param name="Digits">
/// Digits of the running value (1: one number modulo <paramref name="Modulus"/>; more: every decimal digit is its own
/// counter, so <paramref name="Start"/> and <paramref name="Answer"/> are digit rows read as decimal numbers).
/// </param>
/// <param name="AnyOrder">
/// True when neighbouring operations that commute may be carried out in any order (<see cref="ArithmeticChainOptions.AnyOrder"/>):
/// the exact checker then accepts every such order.
/// </param>
public sealed record WorldProblem(string Id, long Start, int Modulus, IReadOnlyList<ChainOperation> Operations, string Problem, long Answer,
    string ChunkedSolution, string RawSolution, IReadOnlyList<string> Chunks, int Digits = 1, bool AnyOrder = false)
{
    /// <summary>The answer as the world writes it (and as a correct <c>\boxed{}</c> holds it), leading zeros included.</summary>
    public string AnswerText => ChainOperation.Render(Answer, Digits);

    /// <summary>The prompt a policy continues: the problem, then the start of the solution.</summary>
    public string Prompt => ArithmeticChainWorld.PolicyPrompt(Problem);

    /// <summary>The running value after each operation, in the problem's order.</summary>
    public IReadOnlyList<long> Values()
    {
        var values = new long[Operations.Count];
        var value = Start;
        for (var i = 0; i < Operations.Count; i++) values[i] = value = Operations[i].Apply(value, Modulus);
        return values;
    }
}
