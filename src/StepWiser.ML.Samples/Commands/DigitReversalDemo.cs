using System.Diagnostics;
using StepWiser.ML.Generation;
using StepWiser.ML.Models;
using StepWiser.ML.Tokenization;
using StepWiser.ML.Training;

namespace StepWiser.ML.Samples.Commands;

/// <summary>
/// The foundation demo: train a built-in small model from scratch with the SFT trainer on a task it cannot do
/// untrained (reversing digit strings), save it in Hugging Face layout, load it back, and generate with the batched
/// local engine.
/// </summary>
internal static class DigitReversalDemo
{
    public static async Task<int> RunAsync(string output)
    {
        Directory.CreateDirectory(output);

        var random = new Random(7);
        SftExample Reverse()
        {
            string digits = string.Concat(Enumerable.Range(0, random.Next(3, 7)).Select(_ => (char)('0' + random.Next(10))));
            return new SftExample($"reverse {digits} =", " " + new string(digits.Reverse().ToArray()));
        }
        var train = Enumerable.Range(0, 4000).Select(_ => Reverse()).ToArray();
        var seen = train.Select(e => e.Prompt).ToHashSet();
        var heldOut = Enumerable.Range(0, 1000).Select(_ => Reverse()).Where(e => !seen.Contains(e.Prompt)).Take(200).ToArray();

        var tokenizer = BuiltInTokenizer.Create();
        using var model = CausalLM.CreateRandom(BuiltInModels.Small, seed: 1);
        Console.WriteLine($"Training a {model.ParameterCount:N0}-parameter Qwen2-architecture model from scratch to reverse digit strings...");
        var clock = Stopwatch.StartNew();
        var progress = new Progress<TrainingProgress>(p =>
        {
            if (p.Step % 50 == 0 || p.Step == p.TotalSteps)
                Console.WriteLine($"  step {p.Step,4}/{p.TotalSteps}  loss {p.Loss:F4}  lr {p.LearningRate:E2}  {p.TokensPerSecond:N0} tok/s");
        });
        var result = new SftTrainer(model, tokenizer, new SftOptions { Steps = 400, BatchSize = 32, LearningRate = 2e-3, WarmupSteps = 30 })
            .Train(train, progress);
        Console.WriteLine($"Trained {result.Steps} steps in {clock.Elapsed.TotalSeconds:F1} s.");

        string modelDir = Path.Combine(output, "model");
        HuggingFaceCheckpoint.Save(model, modelDir);
        BuiltInTokenizer.Save(modelDir);
        Console.WriteLine($"Saved in Hugging Face layout: {modelDir} ({string.Join(", ", Directory.GetFiles(modelDir).Select(Path.GetFileName))})");

        using var reloaded = ModelBundle.Load(modelDir);
        var engine = new LocalTextGenerator(reloaded);
        clock.Restart();
        var answers = await engine.GenerateAsync(heldOut.Select(e => GenerationRequest.FromText(e.Prompt, SamplingOptions.Greedy(12))).ToArray());
        int correct = heldOut.Zip(answers).Count(p => p.Second.Samples[0].Text == p.First.Response);
        Console.WriteLine($"Held-out exact match (greedy, reloaded model): {correct}/{heldOut.Length} = {100.0 * correct / heldOut.Length:F1}% in {clock.Elapsed.TotalSeconds:F2} s");
        foreach (var (example, answer) in heldOut.Zip(answers).Take(5))
            Console.WriteLine($"  {example.Prompt}{answer.Samples[0].Text}   (expected{example.Response})");

        var samples = await engine.GenerateAsync([GenerationRequest.FromText(heldOut[0].Prompt, new SamplingOptions { NumSamples = 4, MaxNewTokens = 12, Temperature = 1.0f, Seed = 42 })]);
        Console.WriteLine($"Four temperature-1 samples of one forked prompt: {string.Join(" | ", samples[0].Samples.Select(s => s.Text.Trim()))}");
        return correct * 2 >= heldOut.Length ? 0 : 1;
    }
}
