namespace StepWiser.ML.Annotation;

/// <summary>How Monte-Carlo step values become a binary label per chunk (docs/world-and-annotation.md, "Monte-Carlo annotation").</summary>
public enum LabelScheme
{
    /// <summary>Abs-Q: positive iff Q_i &gt; 0.</summary>
    AbsoluteQ,

    /// <summary>Rel-Ratio: positive iff Q_i / Q_{i−1} &gt; γ.</summary>
    RelativeRatio,

    /// <summary>Rel-Effective: positive iff Q_i + α·(V_i − V_{i−1}) &gt; 0 with V = 1 − (1 − Q)^n.</summary>
    RelativeEffective,
}
