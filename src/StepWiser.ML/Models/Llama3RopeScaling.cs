using System.Text.Json;

namespace StepWiser.ML.Models;

/// <summary>
/// The rotary-embedding scaling of Llama 3.1/3.2 (<c>rope_scaling</c> with <c>rope_type</c> <c>llama3</c>): inverse
/// frequencies whose wavelength exceeds <c>original_max_position_embeddings / low_freq_factor</c> are divided by
/// <c>factor</c>, those whose wavelength is under <c>original_max_position_embeddings / high_freq_factor</c> are kept,
/// and those between move smoothly from one to the other.
/// </summary>
/// <param name="Factor">Divisor of the low frequencies.</param>
/// <param name="LowFreqFactor">Sets the wavelength above which frequencies are divided.</param>
/// <param name="HighFreqFactor">Sets the wavelength below which frequencies are kept.</param>
/// <param name="OriginalContext">The context length the model was pre-trained with (<c>original_max_position_embeddings</c>).</param>
internal sealed record Llama3RopeScaling(double Factor, double LowFreqFactor, double HighFreqFactor, int OriginalContext)
{
    /// <summary>The value of <c>rope_type</c> this type reads.</summary>
    public const string RopeType = "llama3";

    /// <summary>The value of <c>rope_type</c> that means no scaling (Hugging Face writes it for plain rotary embeddings).</summary>
    public const string DefaultRopeType = "default";

    /// <summary>
    /// Reads a config's <c>rope_scaling</c>: null for none (absent, JSON null or <c>rope_type</c> <c>default</c>), the
    /// Llama 3 settings, or an <see cref="InvalidDataException"/> naming <paramref name="source"/> and the field for any
    /// other scaling or a missing or invalid setting.
    /// </summary>
    public static Llama3RopeScaling? Parse(JsonElement? element, string source)
    {
        if (element is not { } e || e.ValueKind == JsonValueKind.Null) return null;
        if (e.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{source}: rope_scaling must be an object or null");
        // Hugging Face reads "rope_type", and "type" in configs written before it was renamed.
        var typeElement = e.TryGetProperty("rope_type", out var t) ? t : e.TryGetProperty("type", out var old) ? old : default;
        var type = typeElement.ValueKind == JsonValueKind.String ? typeElement.GetString() : null;
        if (type == DefaultRopeType) return null;
        if (type != RopeType)
            throw new InvalidDataException($"{source}: rope_scaling.rope_type '{type ?? "(missing)"}' is not supported (expected '{RopeType}', Llama 3.1/3.2, or none)");
        double Number(string name)
        {
            if (!e.TryGetProperty(name, out var v) || v.ValueKind != JsonValueKind.Number || !double.IsFinite(v.GetDouble()) || v.GetDouble() <= 0)
                throw new InvalidDataException($"{source}: rope_scaling.{name} must be a positive number for rope_type '{RopeType}'");
            return v.GetDouble();
        }
        var scaling = new Llama3RopeScaling(Number("factor"), Number("low_freq_factor"), Number("high_freq_factor"), 0);
        var context = Number("original_max_position_embeddings");
        if (context != Math.Floor(context) || context > int.MaxValue)
            throw new InvalidDataException($"{source}: rope_scaling.original_max_position_embeddings must be a whole number");
        if (scaling.HighFreqFactor <= scaling.LowFreqFactor)
            throw new InvalidDataException($"{source}: rope_scaling.high_freq_factor ({scaling.HighFreqFactor}) must be larger than low_freq_factor ({scaling.LowFreqFactor})");
        return scaling with { OriginalContext = (int)context };
    }

    /// <summary>Applies the scaling to one inverse frequency (radians per position).</summary>
    public double Scale(double inverseFrequency)
    {
        double wavelength = 2 * Math.PI / inverseFrequency;
        double longest = OriginalContext / LowFreqFactor, shortest = OriginalContext / HighFreqFactor;
        if (wavelength < shortest) return inverseFrequency;
        if (wavelength > longest) return inverseFrequency / Factor;
        // Between the two: a blend that goes from divided (at the long end) to kept (at the short end).
        double smooth = (OriginalContext / wavelength - LowFreqFactor) / (HighFreqFactor - LowFreqFactor);
        return (1 - smooth) * inverseFrequency / Factor + smooth * inverseFrequency;
    }
}
