// A .NET 10 file-based app (run: dotnet run quickstart.cs): the built-in world, the chunking stage, a small policy
// trained for a minute and Monte-Carlo step values, against the published package. nuget/check-local-feed.sh runs it
// against the locally packed version in CI, so it cannot rot.
#:package StepWiser.ML@0.1.0
#:package StepWiser.ML.Worlds@0.1.0
#:package TorchSharp-cpu@0.107.0
#:property PublishAot=false
#:property JsonSerializerIsReflectionEnabledByDefault=true
using Microsoft.ML;
using Microsoft.ML.Data;
using StepWiser.ML;
using StepWiser.ML.Annotation;
using StepWiser.ML.AnswerChecking;
using StepWiser.ML.Generation;
using StepWiser.ML.Models;
using StepWiser.ML.Tokenization;
using StepWiser.ML.Worlds;

var ml = new MLContext(seed: 1);
var world = new ArithmeticChainWorld(new ArithmeticChainOptions { Difficulty = 0 });

// 1. Chunk canonical solutions (an ML.NET stage).
var data = ArithmeticChainWorld.ToDataView(ml, world.Generate("train", 50));
var chunked = ml.StepWiser().Transforms.ChunkSteps().Fit(data).Transform(data);
Console.WriteLine($"chunks per solution: {chunked.GetColumn<int>("ChunkCount").Average():F2}");

// 2. A tiny policy, trained briefly, and Monte-Carlo values of a few solutions' chunks.
using var policyModel = WorldPolicy.Train(world, new WorldPolicyOptions { Model = BuiltInModels.Tiny, Steps = 100, LearningRate = 5e-3, TrainProblems = 2000 });
var policy = new LocalTextGenerator(policyModel, BuiltInTokenizer.Create());
var problems = world.Generate("annotate", 4);
using var annotator = new MonteCarloAnnotator(policy, new MathAnswerVerifier(), new MonteCarloOptions { Rollouts = 8, MaxNewTokens = 80 });
var values = await annotator.AnnotateAsync(problems.Select(p => new AnnotationInput(p.Prompt, p.Chunks, p.AnswerText)).ToArray());
foreach (var (p, v) in problems.Zip(values))
    Console.WriteLine($"{p.Problem}\n  Q0 = {v!.InitialValue:F2}, Q = [{string.Join(", ", v.Values.Select(q => q.ToString("F2")))}], Abs-Q labels = [{string.Join(", ", v.Labels(LabelScheme.AbsoluteQ))}]");
