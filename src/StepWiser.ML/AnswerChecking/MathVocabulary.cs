using System.Collections.Frozen;

namespace StepWiser.ML.AnswerChecking;

/// <summary>The names <see cref="MathExpressionParser"/> knows besides single letters: functions and Greek letters.</summary>
internal static class MathVocabulary
{
    /// <summary>Function names (plain or as commands); <c>log</c> without a base is the natural logarithm, as in sympy.</summary>
    public static readonly FrozenDictionary<string, MathOperation> Functions = new[]
    {
        MathOperation.Sqrt, MathOperation.Sin, MathOperation.Cos, MathOperation.Tan, MathOperation.Cot, MathOperation.Sec,
        MathOperation.Csc, MathOperation.Arcsin, MathOperation.Arccos, MathOperation.Arctan, MathOperation.Sinh,
        MathOperation.Cosh, MathOperation.Tanh, MathOperation.Ln, MathOperation.Exp,
    }.Select(op => (Name: op.ToString().ToLowerInvariant(), Op: op)).Append((Name: "log", Op: MathOperation.Ln))
        .ToFrozenDictionary(f => f.Name, f => f.Op, StringComparer.Ordinal);

    /// <summary>Greek letters, which are variables (<c>\theta</c>, <c>\alpha_1</c>).</summary>
    public static readonly FrozenSet<string> Greek = new[]
    {
        "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta", "iota", "kappa",
        "lambda", "mu", "nu", "xi", "rho", "sigma", "tau", "upsilon", "phi", "varphi", "chi", "psi", "omega",
        "Gamma", "Delta", "Theta", "Lambda", "Xi", "Sigma", "Phi", "Psi", "Omega",
    }.ToFrozenSet(StringComparer.Ordinal);
}
