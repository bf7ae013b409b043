using System.Collections;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Lifeline.Registry.Contracts;

namespace Lifeline.Registry.Apis;

/// <summary>
/// How the server reads request bodies: <see cref="MlflowJson.Options"/>, but strict about nulls: a <c>null</c> where
/// the request type has a list, a string or a number (<c>"tags": null</c>, <c>"key": null</c>), a <c>null</c> inside a
/// list (<c>"tags": [null]</c>) and a tag without its value are <see cref="JsonException"/>s, answered
/// <c>INVALID_PARAMETER_VALUE</c> 400 naming the field. (MLflow's protobuf parser reads a null list as empty; we refuse
/// it rather than guess.)
/// </summary>
internal static class RequestJson
{
    public static JsonSerializerOptions Options { get; } = Create();

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(MlflowJson.Options)
        {
            RespectNullableAnnotations = true,
            RespectRequiredConstructorParameters = true,
            TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { RejectNullElements } },
        };
        options.MakeReadOnly();
        return options;
    }

    private static void RejectNullElements(JsonTypeInfo info)
    {
        foreach (var property in info.Properties)
        {
            if (property.Set is not { } set || property.PropertyType == typeof(string) || !typeof(IEnumerable).IsAssignableFrom(property.PropertyType))
            {
                continue;
            }

            var name = property.Name;
            property.Set = (target, value) =>
            {
                if (value is IEnumerable items)
                {
                    foreach (var item in items)
                    {
                        if (item is null)
                        {
                            throw new JsonException($"'{name}' must not contain null.");
                        }
                    }
                }

                set(target, value);
            };
        }
    }
}
