import ShanyrakAccess

/// `#/components/schemas/Indicators` of `openapi.yaml`: granted indicator values by indicator id,
/// each a canonical value string. The generator's `typeOverrides` maps the schema to this name, which is
/// the access path's own `IndicatorValueList`: the views' values reach the contract's types as they are,
/// already in the order the JSON writes their ids, and `CanonicalViewJSON` walks them. (The generated type
/// had encoded its map through a generic runtime function that JSONEncoder could not specialise.) The
/// bytes are the same: an object of string values, keys sorted by the encoder.
typealias IndicatorValues = IndicatorValueList
