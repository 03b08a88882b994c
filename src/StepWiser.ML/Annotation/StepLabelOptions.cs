namespace StepWiser.ML.Annotation;

/// <summary>Parameters of the label schemes, with the paper's defaults for the 1.5B policy.</summary>
public sealed class StepLabelOptions
{
    private float _gamma = 0.8f;
    private float _alpha = 0.4f;
    private int _bestOfN = 4;

    /// <summary>Rel-Ratio threshold γ (paper: 0.8 for 1.5B, 0.7 for 7B).</summary>
    public float Gamma
    {
        get => _gamma;
        set => _gamma = value > 0 && float.IsFinite(value) ? value : throw new ArgumentOutOfRangeException(nameof(Gamma), value, "must be positive");
    }

    /// <summary>Rel-Effective weight α (paper: 0.4 for 1.5B, 0.8 for 7B).</summary>
    public float Alpha
    {
        get => _alpha;
        set => _alpha = value >= 0 && float.IsFinite(value) ? value : throw new ArgumentOutOfRangeException(nameof(Alpha), value, "must be >= 0");
    }

    /// <summary>n of the best-of-n value V = 1 − (1 − Q)^n in Rel-Effective (paper: 4).</summary>
    public int BestOfN
    {
        get => _bestOfN;
        set => _bestOfN = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(BestOfN), value, "must be at least 1");
    }

    /// <summary>
    /// Rel-Ratio when Q_{i−1} = 0 (an open point of the paper): the ratio is undefined; by default the chunk is
    /// positive iff Q_i &gt; 0 (it revives a dead prefix), i.e. 0/0 is negative and x/0 with x &gt; 0 is +∞.
    /// </summary>
    public bool RatioPositiveWhenRevivingZero { get; set; } = true;
}
