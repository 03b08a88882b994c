using System.CommandLine;
using StepWiser.ML.Generation;
using StepWiser.ML.Models;
using StepWiser.ML.Samples.Serving;
using Microsoft.Extensions.Hosting;
using StepWiser.ML.Tokenization;

namespace StepWiser.ML.Samples.Commands;

/// <summary><c>serve</c>: exposes a local model on an OpenAI-compatible HTTP API.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var model = new Option<DirectoryInfo?>("--model") { Description = "Checkpoint folder in Hugging Face layout (config.json, *.safetensors, tokenizer.json)." };
        var builtIn = new Option<string?>("--builtin") { Description = "Serve a randomly initialised built-in model instead (tiny|small|medium), for smoke tests." };
        var host = new Option<string>("--host") { Description = "Interface to bind; 0.0.0.0 exposes the model to the network.", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "TCP port (0 picks a free one).", DefaultValueFactory = _ => 8000 };
        var name = new Option<string?>("--served-model-name") { Description = "Model id clients send (default: the folder name)." };
        var device = new Option<string>("--device") { Description = "TorchSharp device: cpu or cuda[:n].", DefaultValueFactory = _ => "cpu" };
        var command = new Command("serve", "Serve a model on /v1/completions, /v1/chat/completions and /v1/models (OpenAI-compatible).")
        {
            model, builtIn, host, port, name, device,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var dir = parse.GetValue(model);
            var builtInName = parse.GetValue(builtIn);
            if ((dir is null) == (builtInName is null)) return Cli.Fail("serve: give exactly one of --model <folder> or --builtin <tiny|small|medium>.");
            if (dir is not null && !File.Exists(Path.Combine(dir.FullName, "config.json"))) return Cli.Fail($"serve: {dir.FullName} has no config.json (expected a Hugging Face checkpoint folder).");

            using var lm = dir is not null
                ? HuggingFaceCheckpoint.Load(dir.FullName, Cli.Device(parse.GetValue(device)!))
                : CausalLM.CreateRandom(builtInName switch
                {
                    "tiny" => BuiltInModels.Tiny,
                    "small" => BuiltInModels.Small,
                    "medium" => BuiltInModels.Medium,
                    _ => throw new CliException($"serve: unknown built-in model '{builtInName}' (tiny, small or medium)."),
                }, seed: 0);
            var tokenizer = dir is not null ? HuggingFaceTokenizer.Load(dir.FullName) : BuiltInTokenizer.Create();
            var configPath = dir is null ? null : Path.Combine(dir.FullName, "tokenizer_config.json");
            var template = configPath is not null && File.Exists(configPath) ? ChatTemplate.FromTokenizerConfig(configPath) : ChatTemplate.ChatML;
            var engine = new LocalTextGenerator(lm, tokenizer, new LocalGeneratorOptions { ExtraEosTokenIds = EndOfTurnIds(tokenizer) });
            var options = new OpenAIServerOptions
            {
                Url = $"http://{parse.GetValue(host)}:{parse.GetValue(port)}",
                ModelName = parse.GetValue(name) ?? dir?.Name ?? $"builtin-{builtInName}",
            };
            await using var app = OpenAICompatibleServer.Build(engine, template, options);
            await app.StartAsync(cancellationToken);
            Console.WriteLine($"Serving {options.ModelName} ({lm.ParameterCount:N0} parameters, {template.Flavor} chat format) on {string.Join(", ", OpenAICompatibleServer.Addresses(app))}/v1 — Ctrl+C stops.");
            await app.WaitForShutdownAsync(cancellationToken);
            return 0;
        });
        return command;
    }

    private static int[] EndOfTurnIds(Microsoft.ML.Tokenizers.BpeTokenizer tokenizer) =>
        tokenizer.SpecialTokens is { } special && special.TryGetValue(ChatTemplate.EndOfTurn, out var id) ? [id] : [];
}
