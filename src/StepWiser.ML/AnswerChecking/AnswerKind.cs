namespace StepWiser.ML.AnswerChecking;

/// <summary>The shape of a parsed answer (<see cref="AnswerNode"/>).</summary>
internal enum AnswerKind
{
    /// <summary>One expression, number or word.</summary>
    Scalar,

    /// <summary>Ordered elements between brackets whose kinds matter: a tuple, a point or an interval.</summary>
    Tuple,

    /// <summary>Unordered elements: a set <c>\{...\}</c>, a bare comma list, a union of intervals, or the two values of <c>\pm</c>.</summary>
    Collection,

    /// <summary>Rows of cells of a <c>pmatrix</c>/<c>bmatrix</c>/<c>matrix</c> environment.</summary>
    Matrix,

    /// <summary><c>left = right</c>.</summary>
    Equation,

    /// <summary>A multiple-choice letter written <c>(C)</c>.</summary>
    Choice,
}
