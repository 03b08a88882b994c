using System.Text;
using Microsoft.ML.Tokenizers;

namespace StepWiser.ML.Tokenization;

/// <summary>Unicode NFC normalisation, the <c>{"type": "NFC"}</c> normaliser of Hugging Face tokenizer files.</summary>
public sealed class NfcNormalizer : Normalizer
{
    /// <inheritdoc />
    public override string Normalize(string original) =>
        original.IsNormalized(NormalizationForm.FormC) ? original : original.Normalize(NormalizationForm.FormC);

    /// <inheritdoc />
    public override string Normalize(ReadOnlySpan<char> original) => Normalize(original.ToString());
}
